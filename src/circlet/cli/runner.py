"""``circlet runner``: a runner agent. Kept apart from the other commands so that starting a runner
imports only the runner and the HTTP client, not the server (a built-in runner is a child process of
``circlet serve``, and each one would otherwise hold the whole server stack in memory)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer


def runner(
    server: Annotated[str, typer.Option(help="The circlet server's URL.")],
    token: Annotated[str | None, typer.Option(help="Runner token (or $CIRCLET_RUNNER_TOKEN).")] = None,
    resource_class: Annotated[
        str,
        typer.Option("--resource-class", help="Resource class this runner serves; * for built-in classes."),
    ] = "*",
    work_dir: Annotated[Path | None, typer.Option(help="Where jobs run.")] = None,
    concurrency: Annotated[int, typer.Option(help="Tasks run at once.")] = 1,
    name: Annotated[str | None, typer.Option(help="Runner name.")] = None,
    parent_pid: Annotated[
        int | None,
        typer.Option(hidden=True, help="Cancel everything and exit when this parent process dies."),
    ] = None,
) -> None:
    """Run a runner agent: claim jobs of a resource class from a server and run them here.
    SIGINT/SIGTERM: stop claiming and let running jobs finish; a second one cancels them now."""
    from circlet.runner.agent import run_agent, run_until_signaled

    secret = token or os.environ.get("CIRCLET_RUNNER_TOKEN")
    if not secret:
        typer.echo("error: give --token or set CIRCLET_RUNNER_TOKEN", err=True)
        raise typer.Exit(2)
    work = (work_dir or Path.home() / ".cache" / "circlet" / "runner").expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)

    async def _agent(stop: asyncio.Event) -> None:
        await run_agent(
            server_url=server,
            token=secret,
            resource_class=resource_class,
            work_dir=work,
            name=name or f"{socket.gethostname()}-{os.getpid()}",
            stop=stop,
            concurrency=concurrency,
        )

    asyncio.run(run_until_signaled(_agent, parent_pid=parent_pid))


def main() -> None:
    """``circlet runner ...`` without loading the rest of the CLI."""
    app = typer.Typer(add_completion=False)
    app.command("runner")(runner)

    @app.callback()
    def _root() -> None:
        """circlet: a self-hosted CI server for CircleCI configs and API clients."""

    app(args=sys.argv[1:], prog_name="circlet")
