"""StepOutput: batching, offsets, masking and failure handling."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from circlet.runner.client import LeaseLost
from circlet.runner.masking import Masker
from circlet.runner.output import BATCH_TARGET_BYTES, QUEUE_BYTES, StepOutput


class Recorder:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.uploads: list[tuple[int, bytes]] = []
        self.fail_with = fail_with

    async def __call__(self, offset: int, data: Sequence[bytes]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.uploads.append((offset, b"".join(data)))


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


class SlowServer:
    """Takes each upload only when the test lets it, recording the bytes the writer had queued."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.pieces: list[int] = []
        self.gate = asyncio.Event()

    async def __call__(self, offset: int, data: Sequence[bytes]) -> None:
        assert offset == len(self.received)
        await self.gate.wait()
        self.pieces.extend(len(piece) for piece in data)
        for piece in data:
            self.received += piece


async def test_writes_go_on_while_a_batch_is_in_flight_up_to_a_bounded_queue() -> None:
    server = SlowServer()
    output = StepOutput(server, Masker([]))
    chunk = b"z" * 65536
    written = 0
    for _ in range((BATCH_TARGET_BYTES + QUEUE_BYTES) // len(chunk)):
        await asyncio.wait_for(output.write(chunk), 1)  # never waits: one batch out, one queued
        written += len(chunk)
    blocked = asyncio.create_task(output.write(chunk))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # the queue is full: the step's pipe is not read any further
    server.gate.set()
    await asyncio.wait_for(blocked, 1)
    await output.close()
    assert bytes(server.received) == chunk * (written // len(chunk) + 1)
    assert set(server.pieces) == {len(chunk)}  # sent as written, never joined into one buffer


async def test_masking_holds_across_write_boundaries_in_a_long_stream() -> None:
    recorder = Recorder()
    output = StepOutput(recorder, Masker(["hunter22-secret"]))
    line = b"token hunter22-secret end\n"
    stream = line * 50_000  # 1.3 MB, written in pieces that cut the secret everywhere
    for start in range(0, len(stream), 4093):
        await output.write(stream[start : start + 4093])
    await output.close()
    sent = b"".join(data for _, data in recorder.uploads)
    assert sent == b"token ******** end\n" * 50_000


class AheadServer:
    """Takes uploads like a server listing FEATURE_OUTPUT_AHEAD: one may arrive before the one it
    follows, and is answered once the bytes before it are in. Records how many were in flight."""

    def __init__(self, fail_first: bool = False) -> None:
        self.log = bytearray()
        self.in_flight = 0
        self.most_in_flight = 0
        self.grown = asyncio.Event()
        self.gate = asyncio.Event()
        self.fail_first = fail_first
        self.cancelled = 0

    async def __call__(self, offset: int, data: Sequence[bytes]) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.gate.wait()
            if self.fail_first:
                self.fail_first = False
                raise RuntimeError("connection reset")
            while len(self.log) < offset:
                self.grown.clear()
                await self.grown.wait()
            self.log[offset : offset + sum(map(len, data))] = b"".join(data)
            self.grown.set()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


async def test_with_ahead_the_next_batch_goes_while_the_one_before_is_in_flight() -> None:
    server = AheadServer()
    output = StepOutput(server, Masker([]), ahead=True)
    batches = [bytes([65 + i]) * (BATCH_TARGET_BYTES + 1) for i in range(4)]
    writing = asyncio.create_task(_write_all(output, batches))
    await asyncio.sleep(0.1)
    assert server.in_flight == 2  # and no more: a third batch waits in the queue
    server.gate.set()
    await asyncio.wait_for(writing, 2)
    await output.close()
    assert server.most_in_flight == 2
    assert bytes(server.log) == b"".join(batches)
    assert output.bytes_sent == len(server.log)


async def test_without_ahead_one_batch_is_in_flight_at_a_time() -> None:
    server = AheadServer()
    server.gate.set()
    output = StepOutput(server, Masker([]))
    await _write_all(output, [b"x" * (BATCH_TARGET_BYTES + 1)] * 3)
    await output.close()
    assert server.most_in_flight == 1
    assert len(server.log) == 3 * (BATCH_TARGET_BYTES + 1)


async def test_with_ahead_a_failed_upload_stops_the_one_after_it() -> None:
    server = AheadServer(fail_first=True)
    output = StepOutput(server, Masker([]), ahead=True, hold_last=True)
    writing = asyncio.create_task(_write_all(output, [b"a" * (BATCH_TARGET_BYTES + 1)] * 2))
    await asyncio.sleep(0.1)
    assert server.in_flight == 2
    server.gate.set()
    await asyncio.wait_for(writing, 2)
    await output.write(b"tail\n")
    await asyncio.wait_for(output.close(), 2)
    assert server.cancelled == 1  # the second could never land: its bytes would follow a gap
    assert server.log == b""
    assert output.bytes_sent == 0
    assert output.take_held() is None  # nor is the tail sent with the step's finish


async def _write_all(output: StepOutput, pieces: list[bytes]) -> None:
    for piece in pieces:
        await output.write(piece)
