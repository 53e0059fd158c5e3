"""Step kinds: one module each; :func:`runner_for` picks the one for a step's ``type``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from circlet.runner.steps.checkout import run_checkout
from circlet.runner.steps.context import StepContext, StepOutcome
from circlet.runner.steps.run import run_command
from circlet.runner.steps.unsupported import run_unsupported

StepRunner = Callable[[StepContext], Awaitable[StepOutcome]]

_RUNNERS: dict[str, StepRunner] = {
    "run": run_command,
    "deploy": run_command,
    "checkout": run_checkout,
}


def runner_for(kind: str) -> StepRunner:
    return _RUNNERS.get(kind, run_unsupported)


__all__ = ["StepContext", "StepOutcome", "StepRunner", "runner_for"]
