"""``circlet runner``: a runner agent. Kept apart from the other commands, and parsed with argparse
rather than typer, so that starting a runner imports only the runner and the HTTP client: not the
server, and not typer with pydantic (a built-in runner is a child process of ``circlet serve``, and
each one would otherwise hold all of that in memory)."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = "Run a runner agent: claim jobs of a resource class from a server and run them here."
EPILOG = "SIGINT/SIGTERM: stop claiming and let running jobs finish; a second one cancels them now."
EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog="circlet runner", description=DESCRIPTION, epilog=EPILOG)
    parse.add_argument("--server", required=True, help="The circlet server's URL.")
    parse.add_argument("--token", help="Runner token (or $CIRCLET_RUNNER_TOKEN).")
    parse.add_argument(
        "--resource-class", default="*", help="Resource class this runner serves; * for built-in classes."
    )
    parse.add_argument("--work-dir", type=Path, help="Where jobs run.")
    parse.add_argument("--concurrency", type=int, default=1, help="Tasks run at once.")
    parse.add_argument("--name", help="Runner name.")
    parse.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # cancel all and exit when it dies
    return parse


def main(argv: Sequence[str] | None = None) -> None:
    """``circlet runner ...`` (``argv`` without the ``runner`` word; default: the process's)."""
    args = parser().parse_args(sys.argv[2:] if argv is None else argv)
    # httpx imports its command-line tool when click, rich and pygments are installed (~5 MB); its
    # own fallback for when they are not is taken if that import fails, as a None entry makes it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from circlet.runner.agent import run_agent, run_until_signaled
    from circlet.runner.executor import wait_for_children_with_pidfds

    secret = args.token or os.environ.get("CIRCLET_RUNNER_TOKEN")
    if not secret:
        print("error: give --token or set CIRCLET_RUNNER_TOKEN", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    work = (args.work_dir or Path.home() / ".cache" / "circlet" / "runner").expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"

    async def _agent(stop: asyncio.Event) -> None:
        await run_agent(
            server_url=args.server,
            token=secret,
            resource_class=args.resource_class,
            work_dir=work,
            name=name,
            stop=stop,
            concurrency=args.concurrency,
        )

    wait_for_children_with_pidfds()
    asyncio.run(run_until_signaled(_agent, parent_pid=args.parent_pid))
