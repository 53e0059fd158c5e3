"""Step logs on disk: where files go, appends at offsets, uploads that arrive ahead of the bytes
before them, and logs left by an earlier layout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from circlet.engine.live import LiveLogs, OutputWatch
from circlet.errors import Unavailable
from circlet.store import logs as logs_module
from circlet.store.logs import LogStore

JOB = "3f2a9c1e-0000-4000-8000-000000000001"


async def test_a_new_log_needs_no_directory_per_job(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    await logs.append(JOB, 0, 1, offset=0, data=b"hello\n")
    await logs.append(JOB, 2, 0, offset=0, data=b"other node\n")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "3f",
        f"3f/{JOB}.0.1.log",
        f"3f/{JOB}.2.0.log",
    ]
    assert await logs.read(JOB, 0, 1) == b"hello\n"
    assert logs.size(JOB, 2, 0) == len(b"other node\n")


async def test_appends_land_at_their_offset_and_a_retry_overwrites_itself(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    assert await logs.append(JOB, 0, 0, offset=0, data=b"abc") == (3, False)
    assert await logs.append(JOB, 0, 0, offset=3, data=b"def") == (6, False)
    assert await logs.append(JOB, 0, 0, offset=3, data=b"def") == (6, False)  # the same chunk again
    assert await logs.append(JOB, 0, 0, offset=99, data=b"g") == (7, False)  # never leaves a hole
    assert await logs.read(JOB, 0, 0) == b"abcdefg"
    assert await logs.read(JOB, 0, 0, offset=2, limit=3) == b"cde"


async def test_a_log_of_the_earlier_layout_is_still_read_and_appended_to(tmp_path: Path) -> None:
    nested = tmp_path / JOB / "0" / "1.log"
    nested.parent.mkdir(parents=True)
    nested.write_bytes(b"written before the upgrade\n")
    logs = LogStore(tmp_path)
    assert await logs.read(JOB, 0, 1) == b"written before the upgrade\n"
    size, _ = await logs.append(JOB, 0, 1, offset=logs.size(JOB, 0, 1), data=b"and after\n")
    assert nested.read_bytes() == b"written before the upgrade\nand after\n"
    assert size == len(nested.read_bytes())
    assert not (tmp_path / JOB[:2]).exists()


async def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    assert await logs.read(JOB, 0, 5) == b""
    assert logs.size(JOB, 0, 5) == 0


async def _body(*pieces: bytes, taken: list[bytes] | None = None) -> AsyncIterator[bytes]:
    for piece in pieces:
        if taken is not None:
            taken.append(piece)
        yield piece


def _stores(tmp_path: Path) -> list[LogStore]:
    """The plain store (polls the file while an upload waits) and the server's (woken by writes)."""
    return [LogStore(tmp_path / "plain"), LiveLogs(tmp_path / "live", OutputWatch())]


async def test_an_upload_ahead_of_the_log_waits_for_the_bytes_before_it(tmp_path: Path) -> None:
    for logs in _stores(tmp_path):
        ahead = asyncio.create_task(logs.receive(JOB, 0, 0, offset=4, chunks=_body(b"two\n")))
        await asyncio.sleep(0.15)
        assert not ahead.done()
        assert await logs.read(JOB, 0, 0) == b""  # no hole is ever made, even for a moment
        assert await logs.receive(JOB, 0, 0, offset=0, chunks=_body(b"on", b"e\n")) == (4, False)
        assert await asyncio.wait_for(ahead, 2) == (8, False)
        assert await logs.read(JOB, 0, 0) == b"one\ntwo\n"


async def test_an_upload_ahead_whose_bytes_before_never_come_is_refused_unread(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, ahead_wait_s=0.2)
    await logs.append(JOB, 0, 0, offset=0, data=b"abc")
    taken: list[bytes] = []
    with pytest.raises(Unavailable, match="The log has 3 bytes; the upload of the bytes before offset 9"):
        await logs.receive(JOB, 0, 0, offset=9, chunks=_body(b"late", taken=taken))
    assert taken == []
    assert await logs.read(JOB, 0, 0) == b"abc"


async def test_an_upload_ahead_of_a_log_cut_at_its_cap_is_dropped_at_once(tmp_path: Path) -> None:
    logs = LogStore(tmp_path, ahead_wait_s=30)
    assert await logs.append(JOB, 0, 0, offset=0, data=b"0123456789", cap_bytes=4) == (4, True)
    answer = await asyncio.wait_for(logs.receive(JOB, 0, 0, offset=10, chunks=_body(b"more"), cap_bytes=4), 1)
    assert answer == (4, True)
    assert await logs.read(JOB, 0, 0) == b"0123"


@pytest.mark.parametrize("inline_max_s", [60.0, 0.0], ids=["writes-on-the-loop", "slow-writes-to-a-thread"])
async def test_a_streamed_body_lands_whole_whichever_thread_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline_max_s: float
) -> None:
    monkeypatch.setattr(logs_module, "INLINE_WRITE_MAX_S", inline_max_s)  # 0: every write is "slow"
    logs = LogStore(tmp_path)
    pieces = [bytes([i % 251]) * 65536 for i in range(80)]  # 5 MiB: several writes
    writes: list[int] = []
    size, truncated = await logs.receive(
        JOB, 0, 0, offset=0, chunks=_body(*pieces), on_write=lambda: writes.append(1)
    )
    assert (size, truncated) == (80 * 65536, False)
    assert await logs.read(JOB, 0, 0) == b"".join(pieces)
    assert len(writes) == 5


async def test_a_streamed_body_is_cut_at_the_cap(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    pieces = [b"x" * 65536] * 40  # 2.5 MiB against a 1.5 MiB cap
    size, truncated = await logs.receive(JOB, 0, 0, offset=0, chunks=_body(*pieces), cap_bytes=1_572_864)
    assert (size, truncated) == (1_572_864, True)
    assert logs.size(JOB, 0, 0) == 1_572_864
