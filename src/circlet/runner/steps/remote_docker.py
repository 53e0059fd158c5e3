"""``setup_remote_docker``: there is no container engine to set up; say so clearly and go on."""

from __future__ import annotations

import shutil

from circlet.runner.steps.context import StepContext, StepOutcome
from circlet.runner.workspace import DEFAULT_PATH

NO_ENGINE = (
    "setup_remote_docker: circlet runners have no remote Docker engine to set up; DOCKER_HOST is not set."
)


async def run_setup_remote_docker(ctx: StepContext) -> StepOutcome:
    await ctx.output.write_line(NO_ENGINE)
    if shutil.which("docker", path=ctx.env.get("PATH", DEFAULT_PATH)):
        await ctx.output.write_line("The runner's host has a docker command; later docker steps use it.")
    else:
        await ctx.output.write_line("The runner's host has no docker command, so docker steps will fail.")
    return StepOutcome("success", 0)
