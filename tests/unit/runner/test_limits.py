"""Timeouts, cancel and lost leases kill the step's whole process group."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from circlet.runner import run_agent
from tests.unit.runner.conftest import RunTasks
from tests.unit.runner.fakes import TOKEN, FakeServer, assert_dead, make_assignment, run_step, task_dirs

STUBBORN = "trap 'echo got TERM' TERM; echo $$ > {pid_file}; while true; do sleep 0.1; done"


async def test_no_output_timeout_times_the_step_and_task_out(run_tasks: RunTasks) -> None:
    started = time.monotonic()
    [task] = await run_tasks(
        make_assignment(
            run_step("echo working; sleep 30", no_output_timeout_s=0.5),
            run_step("echo cleanup", when="on_fail"),
            run_step("echo next"),
        )
    )
    assert time.monotonic() - started < 5
    assert task.status == "timedout"
    assert task.step(0).status == "timedout"
    assert task.step(0).text == "working\n"
    assert task.step(1).text == "cleanup\n"
    assert 2 not in task.steps


async def test_output_resets_the_no_output_timer(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("for i in 1 2 3 4 5 6; do echo $i; sleep 0.2; done", no_output_timeout_s=0.6)
        )
    )
    assert task.status == "success"


async def test_max_runtime_kills_the_job_and_runs_nothing_after(run_tasks: RunTasks, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    [task] = await run_tasks(
        make_assignment(
            run_step(STUBBORN.format(pid_file=pid_file)),
            run_step("echo always", when="always"),
            max_runtime_s=1.0,
        )
    )
    assert time.monotonic() - started < 5
    assert task.status == "timedout"
    assert task.step(0).status == "timedout"
    assert "got TERM" in task.step(0).text
    assert 1 not in task.steps
    assert task.finish is not None and "longer than 1 s" in task.finish["message"]
    assert_dead(pid_file)


async def test_cancel_via_heartbeat_kills_the_process_group(
    run_tasks: RunTasks, server: FakeServer, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    child_pid_file = tmp_path / "child.pid"
    command = f"(trap '' TERM; echo $BASHPID > {child_pid_file}; sleep 60) &\n" + STUBBORN.format(
        pid_file=pid_file
    )
    assignment = make_assignment(run_step(command), run_step("echo always", when="always"))
    canceled_at: list[float] = []

    async def cancel_when_running() -> None:
        record = server.tasks[assignment["task_id"]]
        await record.step_started.wait()
        while not (pid_file.exists() and child_pid_file.exists()):
            await asyncio.sleep(0.05)
        record.cancel = True
        canceled_at.append(time.monotonic())

    canceller = asyncio.create_task(cancel_when_running())
    [task] = await run_tasks(assignment)
    await canceller
    assert time.monotonic() - canceled_at[0] < 5
    assert task.status == "canceled"
    assert task.step(0).status == "canceled"
    assert 1 not in task.steps
    assert_dead(pid_file)
    assert_dead(child_pid_file)


async def test_lost_lease_abandons_the_task_without_reporting(
    server: FakeServer, work_dir: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    assignment = make_assignment(run_step(STUBBORN.format(pid_file=pid_file)))
    record = server.add(assignment)
    stop = asyncio.Event()
    agent = asyncio.create_task(
        run_agent(
            server_url="http://circlet.test",
            token=TOKEN,
            resource_class="acme/host",
            work_dir=work_dir,
            name="r",
            stop=stop,
            transport=server.transport,
            claim_wait_s=0,
            kill_grace_s=0.3,
        )
    )
    await record.step_started.wait()
    while not pid_file.exists():
        await asyncio.sleep(0.05)
    record.lease_lost = True
    stop.set()
    await asyncio.wait_for(agent, 5)
    assert record.finish is None
    assert record.step(0).finish == {}
    assert_dead(pid_file)
    assert task_dirs(work_dir) == []


async def test_stop_waits_for_the_running_task_to_finish(server: FakeServer, work_dir: Path) -> None:
    record = server.add(make_assignment(run_step("sleep 0.5; echo done")))
    stop = asyncio.Event()
    agent = asyncio.create_task(
        run_agent(
            server_url="http://circlet.test",
            token=TOKEN,
            resource_class="acme/host",
            work_dir=work_dir,
            name="r",
            stop=stop,
            transport=server.transport,
            claim_wait_s=0,
        )
    )
    await record.step_started.wait()
    stop.set()
    await asyncio.wait_for(agent, 5)
    assert record.status == "success"
    assert record.step(0).text == "done\n"


async def test_idle_agent_stops_promptly(server: FakeServer, work_dir: Path) -> None:
    stop = asyncio.Event()
    agent = asyncio.create_task(
        run_agent(
            server_url="http://circlet.test",
            token=TOKEN,
            resource_class="acme/host",
            work_dir=work_dir,
            name="r",
            stop=stop,
            transport=server.transport,
            claim_wait_s=0,
        )
    )
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(agent, 2)
    assert server.claims >= 1


async def test_concurrency_runs_tasks_in_parallel(run_tasks: RunTasks, tmp_path: Path) -> None:
    # Each task waits until both are running: with one slot this would time out.
    marks = tmp_path / "marks"
    marks.mkdir()
    both = f"touch {marks}/$CIRCLE_BUILD_NUM; for i in $(seq 100); do [ $(ls {marks} | wc -l) -ge 2 ] && exit 0; sleep 0.05; done; exit 1"
    tasks = await run_tasks(
        make_assignment(run_step(both), environment={"CIRCLE_BUILD_NUM": "1"}),
        make_assignment(run_step(both), environment={"CIRCLE_BUILD_NUM": "2"}),
        concurrency=2,
    )
    assert [t.status for t in tasks] == ["success", "success"]
