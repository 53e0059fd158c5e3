"""Step kinds: one module each; :func:`runner_for` picks the one for a step's ``type``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from circlet.runner.steps.artifacts import run_store_artifacts
from circlet.runner.steps.caches import run_restore_cache, run_save_cache
from circlet.runner.steps.checkout import run_checkout
from circlet.runner.steps.context import StepContext, StepOutcome
from circlet.runner.steps.remote_docker import run_setup_remote_docker
from circlet.runner.steps.run import run_command
from circlet.runner.steps.ssh_keys import run_add_ssh_keys
from circlet.runner.steps.test_results import run_store_test_results
from circlet.runner.steps.unsupported import run_unsupported
from circlet.runner.steps.workspaces import run_attach, run_persist

StepRunner = Callable[[StepContext], Awaitable[StepOutcome]]

_RUNNERS: dict[str, StepRunner] = {
    "run": run_command,
    "deploy": run_command,
    "checkout": run_checkout,
    "save_cache": run_save_cache,
    "restore_cache": run_restore_cache,
    "persist_to_workspace": run_persist,
    "attach_workspace": run_attach,
    "store_artifacts": run_store_artifacts,
    "store_test_results": run_store_test_results,
    "add_ssh_keys": run_add_ssh_keys,
    "setup_remote_docker": run_setup_remote_docker,
}


def runner_for(kind: str) -> StepRunner:
    return _RUNNERS.get(kind, run_unsupported)


__all__ = ["StepContext", "StepOutcome", "StepRunner", "runner_for"]
