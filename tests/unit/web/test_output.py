"""Pages of step output: whole lines while a step writes, tail first, earlier pages on demand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from circlet.model.pipelines import Step
from circlet.model.statuses import StepStatus
from circlet.store.logs import LogStore
from circlet.types import JobId, TaskId
from circlet.web.output import cut, read_page


def make_step(size: int, status: StepStatus = StepStatus.SUCCESS) -> Step:
    return Step(
        task_id=TaskId("t"),
        job_id=JobId("job"),
        node_index=0,
        step_index=1,
        name="run",
        type="run",
        status=status,
        exit_code=0,
        started_at=datetime.now(UTC),
        ended_at=None,
        output_bytes=size,
        truncated=False,
    )


async def write(logs: LogStore, data: bytes) -> None:
    await logs.append("job", 0, 1, offset=0, data=data)


def test_cut_keeps_whole_lines() -> None:
    assert cut(b"ab\ncd\nef", at_start=True, at_end=False) == (0, 6)
    assert cut(b"ab\ncd\nef", at_start=False, at_end=True) == (3, 8)
    assert cut(b"one long line", at_start=True, at_end=False) == (0, 13)


async def test_running_step_pages_stop_at_the_last_newline(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    await write(logs, b"\x1b[32mfirst\x1b[0m\nsecond\npart")
    page = await read_page(logs, make_step(0, StepStatus.RUNNING), running=True)
    assert page.html == '<span class="a-f2">first</span>\nsecond\n'
    assert (page.start, page.end, page.done) == (0, len(b"\x1b[32mfirst\x1b[0m\nsecond\n"), False)
    rest = await read_page(logs, make_step(0), offset=page.end, running=False)
    assert rest.html == "part" and rest.done


async def test_tail_and_earlier_pages_cover_everything_once(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    lines = [f"line {i:03d}" for i in range(40)]
    await write(logs, ("\n".join(lines) + "\n").encode())
    step = make_step(0)
    tail = await read_page(logs, step, tail=True, running=False, page_bytes=64)
    assert tail.done and tail.end == tail.size and tail.start > 0
    seen = tail.html
    lo = tail.start
    while lo > 0:
        earlier = await read_page(logs, step, before=lo, running=False, page_bytes=64)
        assert earlier.end == lo
        seen = earlier.html + seen
        lo = earlier.start
    assert seen.splitlines() == lines


async def test_missing_output_is_an_empty_finished_page(tmp_path: Path) -> None:
    page = await read_page(LogStore(tmp_path), make_step(0), running=False)
    assert (page.html, page.size, page.done) == ("", 0, True)
