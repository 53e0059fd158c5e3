"""Step logs on disk: where files go, appends at offsets, and logs left by an earlier layout."""

from __future__ import annotations

from pathlib import Path

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
