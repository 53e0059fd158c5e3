"""The ``run`` step: the command is written to a script file and run as ``SHELL script``."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from circlet.runner.executor import Limits, run_process
from circlet.runner.steps.context import StepContext, StepOutcome, outcome_of
from circlet.runner.workspace import overwrite, with_tools_on_path

DEFAULT_SHELL = "/bin/bash -eo pipefail"
NO_OUTPUT_TIMEOUT_S = 600.0  # seconds (CircleCI's 10m default)
EXIT_NOT_FOUND = 127


async def run_command(ctx: StepContext) -> StepOutcome:
    spec = ctx.spec
    background = bool(spec.get("background"))
    shell = spec.get("shell") or ctx.assignment.get("shell") or DEFAULT_SHELL
    script = ctx.dirs.scripts / f"step-{ctx.index}.sh"
    overwrite(script, (spec.get("command", "") + "\n").encode())
    cwd = ctx.dirs.resolve(spec.get("working_directory") or ".", ctx.working_dir)
    if not cwd.is_dir():
        await ctx.output.write_line(f"working_directory {cwd} does not exist")
        return StepOutcome("failed", None)
    no_output_s = spec.get("no_output_timeout_s")
    if no_output_s is None and not background:
        no_output_s = NO_OUTPUT_TIMEOUT_S
    argv = [*shlex.split(shell), str(script)]
    limits = dataclasses.replace(ctx.limits, no_output_timeout_s=no_output_s)
    attempts = 1 if background else 1 + max(0, spec.get("max_auto_reruns") or 0)
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            await ctx.output.write_line(f"Rerunning the step automatically (attempt {attempt} of {attempts})")
        outcome = await _run_once(ctx, argv, cwd, limits)
        if outcome.status != "failed" or ctx.abort.is_set():
            break
    return outcome


async def _run_once(ctx: StepContext, argv: list[str], cwd: Path, limits: Limits) -> StepOutcome:
    env = with_tools_on_path({**ctx.env, **ctx.spec.get("environment", {})}, ctx.dirs)
    try:
        result = await run_process(
            argv,
            cwd=cwd,
            env=env,
            sink=ctx.output.write,
            limits=limits,
            abort=ctx.abort,
            on_spawn=ctx.on_spawn,
        )
    except OSError as exc:
        await ctx.output.write_line(f"cannot start shell {argv[0]!r}: {exc.strerror or exc}")
        return StepOutcome("failed", EXIT_NOT_FOUND)
    return outcome_of(result)
