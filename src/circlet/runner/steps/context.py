"""What a step kind gets to run one step, and what it gives back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from circlet.protocol import StepResult, StepSpec, TaskAssignment
from circlet.runner.executor import Ending, Limits, ProcessResult
from circlet.runner.output import StepOutput
from circlet.runner.transfers import Transfers
from circlet.runner.workspace import TaskDirs


@dataclass(frozen=True, kw_only=True, slots=True)
class StepContext:
    """One step about to run inside a task."""

    spec: StepSpec
    index: int
    assignment: TaskAssignment
    dirs: TaskDirs
    env: dict[str, str]  #: the job environment (the step's own ``environment`` not yet applied)
    working_dir: Path  #: the job's working directory, absolute
    output: StepOutput
    abort: asyncio.Event  #: set on cancel, lost lease, or (for background steps) the end of the job
    limits: Limits
    on_spawn: Callable[[int], None]  #: registers a process group to kill at the end of the task
    transfers: Transfers  #: the task's storage calls (caches, workspaces, artifacts, test results)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    status: StepResult
    exit_code: int | None
    ending: Ending = Ending.EXITED


def outcome_of(result: ProcessResult) -> StepOutcome:
    """Maps how a process ended to the step's status."""
    if result.ending is Ending.EXITED:
        status: StepResult = "success" if result.exit_code == 0 else "failed"
        return StepOutcome(status, result.exit_code, result.ending)
    if result.ending is Ending.ABORTED:
        return StepOutcome("canceled", result.exit_code, result.ending)
    return StepOutcome("timedout", result.exit_code, result.ending)
