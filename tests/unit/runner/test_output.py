"""StepOutput: batching, offsets, masking and failure handling."""

from __future__ import annotations

import asyncio

from circlet.runner.client import LeaseLost
from circlet.runner.masking import Masker
from circlet.runner.output import BATCH_TARGET_BYTES, StepOutput


class Recorder:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.uploads: list[tuple[int, bytes]] = []
        self.fail_with = fail_with

    async def __call__(self, offset: int, data: bytes) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.uploads.append((offset, data))


async def test_small_writes_are_batched() -> None:
    recorder = Recorder()
    output = StepOutput(recorder, Masker([]))
    for i in range(20):
        await output.write(f"line {i}\n".encode())
    await output.close()
    assert len(recorder.uploads) == 1
    assert recorder.uploads[0][0] == 0
    assert recorder.uploads[0][1].count(b"\n") == 20


async def test_offsets_follow_the_bytes_sent() -> None:
    recorder = Recorder()
    output = StepOutput(recorder, Masker([]))
    big = BATCH_TARGET_BYTES + 4_464  # more than one batch: sent without waiting for more
    await output.write(b"a" * big)
    await asyncio.sleep(0.05)
    await output.write(b"b" * 10)
    await output.close()
    offsets = [offset for offset, _ in recorder.uploads]
    sizes = [len(data) for _, data in recorder.uploads]
    assert offsets == [0, big]
    assert sizes == [big, 10]
    assert output.bytes_sent == big + 10


async def test_masked_tail_is_flushed_on_close() -> None:
    recorder = Recorder()
    output = StepOutput(recorder, Masker(["topsecret"]))
    await output.write(b"x top")
    await output.write(b"secret y top")
    await output.close()
    assert b"".join(data for _, data in recorder.uploads) == b"x ******** y top"


async def test_lost_lease_is_signalled_and_output_dropped() -> None:
    lost: list[bool] = []
    output = StepOutput(Recorder(LeaseLost("stale")), Masker([]), on_lease_lost=lambda: lost.append(True))
    for _ in range(20):
        await output.write(b"x" * 65536)
    await output.close()
    assert lost == [True]
    assert output.bytes_sent == 0


async def test_failed_upload_never_blocks_the_writer() -> None:
    output = StepOutput(Recorder(RuntimeError("down")), Masker([]))
    for _ in range(30):
        await asyncio.wait_for(output.write(b"y" * 65536), 1)
    await output.close()
    assert output.bytes_sent == 0


async def test_last_small_batch_is_held_for_the_finish_call() -> None:
    recorder = Recorder()
    output = StepOutput(recorder, Masker([]), hold_last=True)
    big = BATCH_TARGET_BYTES + 10  # sent on its own: more than one batch
    await output.write(b"a" * big)
    await asyncio.sleep(0.05)
    await output.write(b"tail\n")
    await output.close()
    assert recorder.uploads == [(0, b"a" * big)]
    assert output.take_held() == (big, b"tail\n")
    assert output.take_held() is None
    assert output.bytes_sent == big + 5


async def test_nothing_is_held_without_output() -> None:
    recorder = Recorder()
    output = StepOutput(recorder, Masker([]), hold_last=True)
    await output.close()
    assert recorder.uploads == []
    assert output.take_held() is None
