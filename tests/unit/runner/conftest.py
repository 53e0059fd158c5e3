from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from circlet.protocol import TaskAssignment
from circlet.runner import run_agent
from tests.unit.runner.fakes import TOKEN, FakeServer, TaskRecord

RunTasks = Callable[..., Awaitable[list[TaskRecord]]]


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def run_tasks(server: FakeServer, work_dir: Path) -> RunTasks:
    """Runs an agent until every given assignment is finished, then stops it."""

    async def run(
        *assignments: TaskAssignment, timeout_s: float = 15.0, concurrency: int = 1
    ) -> list[TaskRecord]:
        records = [server.add(a) for a in assignments]
        stop = asyncio.Event()
        agent = asyncio.create_task(
            run_agent(
                server_url="http://circlet.test",
                token=TOKEN,
                resource_class="acme/host",
                work_dir=work_dir,
                name="test-runner",
                stop=stop,
                concurrency=concurrency,
                transport=server.transport,
                claim_wait_s=0.0,
                kill_grace_s=0.5,
            )
        )
        try:
            async with asyncio.timeout(timeout_s):
                for record in records:
                    await record.finished.wait()
        finally:
            stop.set()
            await asyncio.wait_for(agent, 10)
        return records

    return run
