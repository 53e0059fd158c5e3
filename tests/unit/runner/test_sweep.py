"""One runner per work directory; leftovers of a dead runner are cleaned up."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from circlet.runner import WorkDirBusy, run_agent
from circlet.runner.sweep import owned_work_dir, sweep_stale_tasks
from tests.unit.runner.fakes import TOKEN, FakeServer, task_dirs


def test_a_second_owner_is_refused(tmp_path: Path) -> None:
    with owned_work_dir(tmp_path), pytest.raises(WorkDirBusy), owned_work_dir(tmp_path):
        pass
    with owned_work_dir(tmp_path):  # released
        pass


async def test_a_second_agent_on_the_same_work_dir_fails(server: FakeServer, work_dir: Path) -> None:
    with owned_work_dir(work_dir), pytest.raises(WorkDirBusy):
        await run_agent(
            server_url="http://circlet.test",
            token=TOKEN,
            resource_class="acme/host",
            work_dir=work_dir,
            name="r",
            stop=asyncio.Event(),
            transport=server.transport,
        )


def test_sweep_kills_leftover_processes_and_removes_task_dirs(tmp_path: Path) -> None:
    stale = tmp_path / "task-dead" / "home"
    stale.mkdir(parents=True)
    bystander_home = tmp_path.parent / f"{tmp_path.name}-other"
    leftover = subprocess.Popen(["sleep", "60"], env={"HOME": str(stale), "PATH": "/usr/bin:/bin"})
    bystander = subprocess.Popen(["sleep", "60"], env={"HOME": str(bystander_home), "PATH": "/usr/bin:/bin"})
    try:
        assert sweep_stale_tasks(tmp_path) == 1
        assert leftover.wait(timeout=5) == -9
        time.sleep(0.1)
        assert bystander.poll() is None
        assert task_dirs(tmp_path) == []
    finally:
        leftover.kill()
        bystander.kill()
        leftover.wait()
        bystander.wait()
