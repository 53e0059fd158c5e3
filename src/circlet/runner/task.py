"""Runs one claimed task: its steps in order under CircleCI's ``when`` rules, background steps,
``circleci-agent step halt``, the task's max runtime, and cleanup of everything it started."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from circlet.protocol import (
    FEATURE_FINISH_OUTPUT,
    FEATURE_OUTPUT_AHEAD,
    StepFinish,
    StepSpec,
    StepStart,
    TaskAssignment,
    TaskFinish,
    TaskResult,
)
from circlet.runner.client import Lease, LeaseLost, RunnerClient
from circlet.runner.executor import Ending, Limits, group_alive, kill_group
from circlet.runner.masking import Masker
from circlet.runner.output import StepOutput
from circlet.runner.reports import StepReports
from circlet.runner.steps import StepContext, StepOutcome, runner_for
from circlet.runner.timings import fetch_timings, wants_timings
from circlet.runner.transfers import Transfers
from circlet.runner.workspace import DEFAULT_WORKING_DIRECTORY, TaskDirPool, TaskDirs, job_environment

logger = logging.getLogger(__name__)

#: Step kinds that run after a failure unless their ``when`` says otherwise (CircleCI STEP-06).
ALWAYS_BY_DEFAULT = frozenset({"store_artifacts", "store_test_results"})


class TaskSignals:
    """Events from outside a running task: the server canceled it, or its lease was lost."""

    def __init__(self) -> None:
        self.abort = asyncio.Event()
        self.canceled = False
        self.lease_lost = False

    def cancel(self) -> None:
        self.canceled = True
        self.abort.set()

    def lose_lease(self) -> None:
        self.lease_lost = True
        self.abort.set()


@dataclass(slots=True)
class _Progress:
    failed: bool = False
    no_output: bool = False
    runtime_exceeded: bool = False
    halted: bool = False
    message: str | None = None


class TaskRun:
    """One task from claim to its final status (reporting ``finish`` is the caller's job).

    Args:
        client: the runner client.
        assignment: the claimed task.
        dirs: where the task's directories come from, and go back to once nothing runs in them
            any more (emptied off the task's path to its report).
        host_env: the runner's environment, read once (only LANG, TZ and USER are used).
        signals: cancel / lost-lease events from the heartbeat loop.
        kill_grace_s: time between SIGTERM and SIGKILL.
        reports: where step starts and finishes go (the caller sends what is left with the finish).
    """

    def __init__(
        self,
        *,
        client: RunnerClient,
        assignment: TaskAssignment,
        dirs: TaskDirPool,
        host_env: Mapping[str, str],
        signals: TaskSignals,
        kill_grace_s: float,
        reports: StepReports,
    ) -> None:
        self._client = client
        self._dirs = dirs
        self._reports = reports
        self._assignment = assignment
        self._lease = Lease(assignment["task_id"], assignment["lease_id"])
        self._host_env = host_env
        self._signals = signals
        self._kill_grace_s = kill_grace_s
        self._deadline = asyncio.get_running_loop().time() + assignment["max_runtime_s"]
        self._masker_secrets = tuple(assignment["secrets"])
        self._progress = _Progress()
        self._groups: set[int] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._job_end = asyncio.Event()
        self._notices = list(assignment["notices"])
        self._transfers = Transfers(client, self._lease)

    async def run(self) -> TaskFinish:
        """Runs every step that should run. Raises LeaseLost when the server gave the task away."""
        dirs = await self._dirs.take()
        try:
            if wants_timings(self._assignment):
                await fetch_timings(self._client, self._lease, dirs.meta)
            await self._run_steps(dirs)
            await self._stop_background()
        finally:
            await self._stop_background()
            await self._kill_leftovers()
            self._dirs.give_back(dirs)  # emptied while the task's end is reported
        if self._signals.lease_lost:
            raise LeaseLost("the task's lease was lost")
        return self._result()

    async def _run_steps(self, dirs: TaskDirs) -> None:
        env = job_environment(self._assignment["environment"], dirs, self._host_env)
        working_dir = dirs.resolve(
            self._assignment["working_directory"] or DEFAULT_WORKING_DIRECTORY, dirs.home
        )
        try:
            dirs.make_working_dir(working_dir)
        except OSError as exc:
            self._progress.failed = True
            self._progress.message = f"cannot create working directory {working_dir}: {exc.strerror}"
            return
        for index, spec in enumerate(self._assignment["steps"]):
            if self._must_stop():
                return
            if not _should_run(spec, failed=self._progress.failed):
                continue
            outcome = await self._run_step(index, spec, dirs, env, working_dir)
            if outcome is not None:
                self._record(outcome)
            if dirs.halted():
                self._progress.halted = True

    def _must_stop(self) -> bool:
        progress = self._progress
        if asyncio.get_running_loop().time() >= self._deadline:
            progress.runtime_exceeded = True
        return self._signals.abort.is_set() or progress.runtime_exceeded or progress.halted

    def _record(self, outcome: StepOutcome) -> None:
        progress = self._progress
        if outcome.status in ("failed", "timedout"):
            progress.failed = True
        if outcome.ending is Ending.NO_OUTPUT:
            progress.no_output = True
            progress.message = "a step produced no output for its no_output_timeout"
        elif outcome.ending is Ending.DEADLINE:
            progress.runtime_exceeded = True

    async def _run_step(
        self, index: int, spec: StepSpec, dirs: TaskDirs, env: dict[str, str], working_dir: Path
    ) -> StepOutcome | None:
        background = spec["type"] == "run" and bool(spec.get("background"))
        output = StepOutput(
            functools.partial(self._reports.upload_output, index),
            Masker(self._masker_secrets),
            on_lease_lost=self._signals.lose_lease,
            hold_last=FEATURE_FINISH_OUTPUT in self._assignment.get("features", ()),
            ahead=FEATURE_OUTPUT_AHEAD in self._assignment.get("features", ()),
        )
        start = StepStart(name=spec["name"], started_at=_now())
        if background:
            start["parallel"] = True
        try:
            await self._reports.start(index, start)
            for notice in self._notices:
                await output.write_line(notice)
            self._notices.clear()
        except BaseException:
            await output.abort()
            raise
        ctx = StepContext(
            spec=spec,
            index=index,
            assignment=self._assignment,
            dirs=dirs,
            env=env,
            working_dir=working_dir,
            output=output,
            abort=self._job_end if background else self._signals.abort,
            limits=Limits(deadline=self._deadline, kill_grace_s=self._kill_grace_s),
            on_spawn=self._groups.add,
            transfers=self._transfers,
        )
        if background:
            task = asyncio.create_task(self._run_background(ctx))
            self._background.add(task)
            return None
        outcome = await self._finish_step(ctx, await self._execute(ctx))
        self._groups.difference_update([pgid for pgid in self._groups if not group_alive(pgid)])
        return outcome

    async def _execute(self, ctx: StepContext) -> StepOutcome:
        try:
            return await runner_for(ctx.spec["type"])(ctx)
        except asyncio.CancelledError:
            await ctx.output.abort()
            raise
        except Exception as exc:
            logger.exception("step failed to run", extra={"action": "step_error", "step": ctx.index})
            await ctx.output.write_line(f"runner error: {exc}")
            return StepOutcome("failed", None)

    async def _finish_step(self, ctx: StepContext, outcome: StepOutcome) -> StepOutcome:
        await ctx.output.close()
        if self._signals.lease_lost:
            raise LeaseLost("the task's lease was lost")
        body = StepFinish(status=outcome.status, exit_code=outcome.exit_code, ended_at=_now())
        held = ctx.output.take_held()
        if held is not None:
            body["output_offset"], data = held
            body["output"] = base64.b64encode(data).decode("ascii")
        await self._reports.finish(ctx.index, body)
        return outcome

    async def _run_background(self, ctx: StepContext) -> None:
        outcome = await self._execute(ctx)
        if outcome.ending is Ending.ABORTED and not self._signals.canceled:
            outcome = StepOutcome("success", None, outcome.ending)  # ended with the job, as expected
        elif outcome.status != "success" and not self._job_end.is_set():
            self._progress.failed = True
        try:
            await self._finish_step(ctx, outcome)
        except LeaseLost:
            self._signals.lose_lease()
        except Exception:
            logger.exception("reporting a background step failed", extra={"action": "step_report_error"})

    async def _stop_background(self) -> None:
        self._job_end.set()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
            self._background.clear()

    async def _kill_leftovers(self) -> None:
        groups = list(self._groups)
        self._groups.clear()
        with contextlib.suppress(Exception):
            await asyncio.gather(*(kill_group(pgid, self._kill_grace_s) for pgid in groups))

    def _result(self) -> TaskFinish:
        progress, status = self._progress, _status(self._signals, self._progress)
        finish = TaskFinish(status=status)
        if status == "timedout" and progress.runtime_exceeded:
            finish["message"] = f"the job ran longer than {self._assignment['max_runtime_s']:g} s"
        elif progress.message and status != "canceled":
            finish["message"] = progress.message
        elif progress.halted and status == "success":
            finish["message"] = "halted by circleci-agent step halt"
        return finish


def _status(signals: TaskSignals, progress: _Progress) -> TaskResult:
    if signals.canceled:
        return "canceled"
    if progress.runtime_exceeded or progress.no_output:
        return "timedout"
    return "failed" if progress.failed else "success"


def _should_run(spec: StepSpec, *, failed: bool) -> bool:
    default = "always" if spec["type"] in ALWAYS_BY_DEFAULT else "on_success"
    when = spec.get("when", default)
    if when == "always":
        return True
    return failed if when == "on_fail" else not failed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
