"""Step kinds this runner does not implement yet: say so in the step output."""

from __future__ import annotations

from circlet.runner.steps.context import StepContext, StepOutcome

#: Kinds that only lose an optimisation or an upload when skipped: the step succeeds.
SKIPPABLE = frozenset(
    {
        "save_cache",
        "restore_cache",
        "persist_to_workspace",
        "store_artifacts",
        "store_test_results",
        "add_ssh_keys",
        "setup_remote_docker",
    }
)


async def run_unsupported(ctx: StepContext) -> StepOutcome:
    kind = ctx.spec["type"]
    await ctx.output.write_line(f"step type {kind} is not supported by this runner yet")
    if kind in SKIPPABLE:
        return StepOutcome("success", 0)
    return StepOutcome("failed", None)
