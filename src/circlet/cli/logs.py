"""``circlet logs PROJECT_SLUG JOB_NUMBER``: a job's steps and their output, followed live with
``--follow`` (the live-log SSE endpoint, docs/api.md "Live logs")."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, TextIO

import httpx
import typer

from circlet.cli.common import make_settings

POLL_S = 0.5  # seconds between reads of the job while waiting for its next step
STREAM_TIMEOUT_S = 60.0  # seconds without a byte (keep-alives come every 15 s) before giving up
FINAL = frozenset(
    {"success", "failed", "canceled", "timedout", "infrastructure_fail", "not_run", "unauthorized"}
)


def logs(
    project_slug: Annotated[str, typer.Argument(help="Project slug, like gh/acme/app.")],
    job_number: Annotated[int, typer.Argument(help="Job number.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Follow the output until the job ends.")
    ] = False,
    server: Annotated[
        str | None, typer.Option(help="Server URL (default $CIRCLET_SERVER, else the configured host/port).")
    ] = None,
    token: Annotated[str | None, typer.Option(help="API token (default $CIRCLE_TOKEN).")] = None,
    node: Annotated[int, typer.Option(help="Parallel node to show.")] = 0,
) -> None:
    """Print a job's steps and output; with --follow, keep printing until the job ends and exit
    non-zero when it did not succeed."""
    url = server or os.environ.get("CIRCLET_SERVER") or make_settings().public_url()
    secret = token or os.environ.get("CIRCLE_TOKEN") or os.environ.get("CIRCLECI_CLI_TOKEN")
    if not secret:
        typer.echo("error: give --token or set CIRCLE_TOKEN", err=True)
        raise typer.Exit(2)
    try:
        status = asyncio.run(_print(url, secret, project_slug, job_number, follow=follow, node=node))
    except JobLogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if follow and status != "success":
        raise typer.Exit(1)


class JobLogError(Exception):
    """The server refused a request."""


@dataclass(frozen=True, slots=True)
class StepEnd:
    status: str
    exit_code: int | None
    truncated: bool


async def _print(url: str, token: str, slug: str, number: int, *, follow: bool, node: int) -> str:
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers={"Circle-Token": token}, timeout=STREAM_TIMEOUT_S
    ) as client:
        return await print_job(client, slug, number, follow=follow, node=node, out=sys.stdout)


async def print_job(
    client: httpx.AsyncClient, slug: str, number: int, *, follow: bool, node: int, out: TextIO
) -> str:
    """Print the job's steps in order; returns the job's status when the last step was printed."""
    shown: set[int] = set()
    while True:
        build = await _get_json(client, f"/api/v1.1/project/{slug}/{number}")
        pending = sorted(i for i in _node_steps(build, node) if i not in shown)
        if pending:
            index = pending[0]
            action = _node_steps(build, node)[index]
            out.write(f"\n== {action['name']} ==\n")
            end = await stream_step(client, slug, number, index, node, follow=follow, out=out)
            out.write(_footer(end))
            out.flush()
            shown.add(index)
            continue
        status = str(build.get("outcome") or build.get("status"))
        if not follow or build.get("lifecycle") == "finished":
            out.write(f"\njob {number}: {status}\n")
            out.flush()
            return status
        await asyncio.sleep(POLL_S)


def _node_steps(build: dict[str, Any], node: int) -> dict[int, dict[str, Any]]:
    return {
        int(action["step"]): {"name": step["name"], **action}
        for step in build.get("steps", [])
        for action in step["actions"]
        if int(action["index"]) == node
    }


def _footer(end: StepEnd) -> str:
    code = "" if end.exit_code is None else f", exit code {end.exit_code}"
    note = ", output truncated" if end.truncated else ""
    return f"-- {end.status}{code}{note}\n"


async def stream_step(
    client: httpx.AsyncClient, slug: str, number: int, step: int, node: int, *, follow: bool, out: TextIO
) -> StepEnd:
    """Write one step's output to ``out`` as it arrives; returns how the step ended."""
    url = f"/api/v2/project/{slug}/job/{number}/steps/{step}/{node}/output/stream"
    params = {"follow": "true" if follow else "false"}
    async with client.stream("GET", url, params=params) as response:
        if response.status_code != httpx.codes.OK:
            await response.aread()
            raise JobLogError(f"HTTP {response.status_code} from {url}: {response.text[:200]}")
        async for event, data in iter_sse(response.aiter_lines()):
            body = json.loads(data)
            if event == "output":
                out.write(body["text"])
                out.flush()
            elif event == "end":
                return StepEnd(body["status"], body["exit_code"], body["truncated"])
    raise JobLogError(f"the stream of step {step} ended early")


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs from the lines of a text/event-stream body; comments are skipped."""
    event, data = "message", list[str]()
    async for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url)
    if response.status_code != httpx.codes.OK:
        raise JobLogError(f"HTTP {response.status_code} from {url}: {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body
