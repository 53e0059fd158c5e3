"""The runner agent: claims tasks from the server (long poll), runs them, heartbeats while they
run, and reports their outcome."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from circlet.protocol import FEATURE_TASK_REPORT, ClaimRequest, TaskAssignment, TaskFinish, TaskReport
from circlet.runner.client import Lease, LeaseLost, RunnerClient, RunnerClientError
from circlet.runner.executor import KILL_GRACE_S
from circlet.runner.reports import StepReports
from circlet.runner.sweep import owned_work_dir, sweep_stale_tasks
from circlet.runner.task import TaskRun, TaskSignals
from circlet.runner.workspace import TaskDirPool

logger = logging.getLogger(__name__)

CLAIM_WAIT_S = 25.0  # seconds the server may hold a claim open
IDLE_PAUSE_S = 1.0  # seconds between claims when the server answers "no work" without waiting
CLAIM_BACKOFF_S = 1.0  # seconds after a failed claim, doubled per failure
CLAIM_BACKOFF_MAX_S = 30.0  # seconds
HOST_ENV_NAMES = ("USER", "LOGNAME", "LANG", "TZ")
PARENT_POLL_S = 0.5  # seconds between checks that the parent process is still there

T = TypeVar("T")


async def run_agent(
    *,
    server_url: str,
    token: str,
    resource_class: str,
    work_dir: Path,
    name: str,
    stop: asyncio.Event,
    concurrency: int = 1,
    transport: httpx.AsyncBaseTransport | None = None,
    claim_wait_s: float = CLAIM_WAIT_S,
    kill_grace_s: float = KILL_GRACE_S,
) -> None:
    """Claim and run tasks until ``stop`` is set; then wait for the running tasks to finish.

    Args:
        server_url: the circlet server's base URL.
        token: the runner token.
        resource_class: ``namespace/name`` this runner serves.
        work_dir: where task directories are made (reused from task to task, removed at the end).
        name: this runner's name, shown by the server.
        stop: set it to stop claiming; tasks in progress still run to their end and are reported.
        concurrency: how many tasks may run at once.
        transport: an httpx transport (tests pass ``httpx.MockTransport``).
        claim_wait_s: how long the server may hold one claim open.
        kill_grace_s: time between SIGTERM and SIGKILL when a step is killed.

    Cancelling the coroutine kills every running step at once and reports nothing: the server's
    lease reaper fails those tasks. Processes left by a runner that was killed outright are
    killed when the next runner starts on the same ``work_dir``.

    Raises:
        WorkDirBusy: another runner is using ``work_dir``.
    """
    host_env = {key: os.environ[key] for key in HOST_ENV_NAMES if key in os.environ}
    with owned_work_dir(work_dir):
        await asyncio.to_thread(sweep_stale_tasks, work_dir)
        async with RunnerClient(server_url, token, transport=transport) as client:
            agent = _Agent(
                client=client,
                claim=ClaimRequest(resource_class=resource_class, runner_name=name, wait_s=claim_wait_s),
                work_dir=work_dir,
                host_env=host_env,
                stop=stop,
                kill_grace_s=kill_grace_s,
            )
            await agent.run(max(1, concurrency))


async def run_until_signaled(
    agent: Callable[[asyncio.Event], Coroutine[Any, Any, None]], *, parent_pid: int | None = None
) -> None:
    """Run ``agent(stop)`` under process signals.

    The first SIGINT/SIGTERM sets ``stop`` (no new claims; running tasks finish and are reported).
    The second cancels the agent at once, which kills every step's process group. With
    ``parent_pid``, the agent is cancelled the same way as soon as that process is no longer our
    parent (it died), so a killed ``circlet serve`` leaves no runner or job processes behind.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.create_task(agent(stop))

    def _on_signal() -> None:
        if stop.is_set():
            logger.warning("second signal: canceling running tasks", extra={"action": "agent_cancel"})
            main.cancel()
        else:
            logger.info("stopping: running tasks finish first", extra={"action": "agent_stop"})
            stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal)
    watcher = asyncio.create_task(_watch_parent(parent_pid, main)) if parent_pid else None
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await main
    finally:
        if watcher is not None:
            watcher.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _watch_parent(parent_pid: int, main: asyncio.Task[None]) -> None:
    while os.getppid() == parent_pid:
        await asyncio.sleep(PARENT_POLL_S)
    logger.warning("parent process %s is gone: canceling", parent_pid, extra={"action": "parent_gone"})
    main.cancel()


class _Agent:
    def __init__(
        self,
        *,
        client: RunnerClient,
        claim: ClaimRequest,
        work_dir: Path,
        host_env: Mapping[str, str],
        stop: asyncio.Event,
        kill_grace_s: float,
    ) -> None:
        self._client = client
        self._claim_request = claim
        self._dirs = TaskDirPool(work_dir)
        self._host_env = host_env
        self._stop = stop
        self._kill_grace_s = kill_grace_s
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, concurrency: int) -> None:
        try:
            await self._run(concurrency)
        finally:
            await self._dirs.aclose()

    async def _run(self, concurrency: int) -> None:
        slots = asyncio.Semaphore(concurrency)
        try:
            while not self._stop.is_set():
                if not await self._unless_stopped(slots.acquire()):
                    break
                assignment = await self._next_assignment()
                if assignment is None:
                    slots.release()
                    continue
                task = asyncio.create_task(self._handle(assignment))
                self._running.add(task)
                task.add_done_callback(functools.partial(self._task_done, slots))
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)
        except asyncio.CancelledError:
            for task in self._running:
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)
            raise

    def _task_done(self, slots: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        slots.release()

    async def _next_assignment(self) -> TaskAssignment | None:
        """One claim; None when there was no work, the claim failed, or ``stop`` was set."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        backoff_s = CLAIM_BACKOFF_S
        while not self._stop.is_set():
            try:
                claimed = await self._unless_stopped(self._client.claim(self._claim_request))
            except (httpx.HTTPError, RunnerClientError, ValueError) as exc:
                logger.warning("claim failed: %s", exc, extra={"action": "claim_failed"})
                await self._sleep(backoff_s)
                backoff_s = min(backoff_s * 2, CLAIM_BACKOFF_MAX_S)
                continue
            if claimed is None:
                if loop.time() - started < IDLE_PAUSE_S:
                    await self._sleep(IDLE_PAUSE_S)
                return None
            logger.info(
                "claimed task %s (%s)",
                claimed["task_id"],
                claimed["job_name"],
                extra={"action": "task_claimed", "task_id": claimed["task_id"]},
            )
            return claimed
        return None

    async def _handle(self, assignment: TaskAssignment) -> None:
        """Run a task, then the next one claimed with its finish, until no task comes back."""
        current: TaskAssignment | None = assignment
        while current is not None:
            current = await self._handle_one(current)

    async def _handle_one(self, assignment: TaskAssignment) -> TaskAssignment | None:
        lease = Lease(assignment["task_id"], assignment["lease_id"])
        signals = TaskSignals()
        reports = StepReports(
            self._client,
            lease,
            batched=FEATURE_TASK_REPORT in assignment.get("features", ()),
            on_lease_lost=signals.lose_lease,
            on_cancel=signals.cancel,
        )
        heartbeat = asyncio.create_task(self._heartbeat(lease, signals, assignment["heartbeat_interval_s"]))
        try:
            finish = await self._run_task(assignment, signals, reports)
            if finish is None:
                return None
            return await self._report(lease, finish, reports)
        finally:
            await reports.aclose()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _run_task(
        self, assignment: TaskAssignment, signals: TaskSignals, reports: StepReports
    ) -> TaskFinish | None:
        run = TaskRun(
            client=self._client,
            assignment=assignment,
            dirs=self._dirs,
            host_env=self._host_env,
            signals=signals,
            kill_grace_s=self._kill_grace_s,
            reports=reports,
        )
        try:
            return await run.run()
        except LeaseLost:
            logger.warning(
                "lease on task %s lost; abandoning it",
                assignment["task_id"],
                extra={"action": "lease_lost", "task_id": assignment["task_id"]},
            )
            return None
        except Exception as exc:
            logger.exception("task %s crashed", assignment["task_id"], extra={"action": "task_crashed"})
            return TaskFinish(status="infrastructure_fail", message=f"runner error: {exc}")

    async def _report(self, lease: Lease, finish: TaskFinish, reports: StepReports) -> TaskAssignment | None:
        """Report the task's end; with batched reports, claim the next task in the same call."""
        claimed: TaskAssignment | None = None
        try:
            if reports.batched:
                body = TaskReport(steps=await reports.take(), finish=finish)
                if not self._stop.is_set():
                    body["claim"] = ClaimRequest(
                        resource_class=self._claim_request["resource_class"],
                        runner_name=self._claim_request["runner_name"],
                        wait_s=0.0,
                    )
                claimed = (await self._client.report(lease, body)).get("next")
            else:
                await self._client.finish_task(lease, finish)
        except (httpx.HTTPError, RunnerClientError) as exc:
            logger.error(
                "reporting task %s failed: %s", lease.task_id, exc, extra={"action": "finish_failed"}
            )
            return None
        logger.info(
            "task %s finished: %s",
            lease.task_id,
            finish["status"],
            extra={"action": "task_finished", "task_id": lease.task_id},
        )
        if claimed is not None:
            logger.info(
                "claimed task %s (%s)",
                claimed["task_id"],
                claimed["job_name"],
                extra={"action": "task_claimed", "task_id": claimed["task_id"]},
            )
        return claimed

    async def _heartbeat(self, lease: Lease, signals: TaskSignals, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                response = await self._client.heartbeat(lease)
            except LeaseLost:
                signals.lose_lease()
                return
            except (httpx.HTTPError, RunnerClientError) as exc:
                logger.warning("heartbeat failed: %s", exc, extra={"action": "heartbeat_failed"})
                continue
            if response.get("cancel") and not signals.canceled:
                logger.info("task %s canceled by the server", lease.task_id, extra={"action": "task_cancel"})
                signals.cancel()

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """Await ``work`` unless ``stop`` is set first (then cancel it and return None).
        A result that arrives together with ``stop`` wins: a claimed task is never dropped."""
        job = asyncio.ensure_future(work)
        stopper = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({job, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if job.done():
            return job.result()
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
        return None

    async def _sleep(self, delay_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay_s)
