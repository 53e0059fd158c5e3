"""``circlet serve``: the API server plus built-in runners (a child ``circlet runner`` process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from circlet.api.app import create_app
from circlet.cli.common import DataDir, make_settings
from circlet.settings import Settings

RUNNER_STOP_GRACE_S = 10.0  # seconds


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    runners: Annotated[int, typer.Option(help="Built-in runner slots (0 for none).")] = 1,
    demo: Annotated[bool, typer.Option(help="Create a demo user, project and pipeline.")] = False,
) -> None:
    """Run the API server (migrations apply on start) with N built-in runners."""
    settings = make_settings(data_dir, host=host, port=port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(_serve(settings, runners=runners, demo=demo))


async def _serve(settings: Settings, *, runners: int, demo: bool) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="asyncio",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.02)
    typer.echo(f"circlet is listening on {settings.public_url()} (data in {settings.data_dir})")
    child = await _start_runner(app, settings, runners) if runners > 0 else None
    try:
        if demo:
            from circlet.cli.demo import run_demo

            await run_demo(app.state.store, settings)
        await serving
    finally:
        if child is not None:
            await _stop(child)


async def _start_runner(app: object, settings: Settings, slots: int) -> asyncio.subprocess.Process:
    from circlet.engine.accounts import rotate_builtin_runner_token

    store = app.state.store  # type: ignore[attr-defined]
    async with store.transaction() as tx:
        token = await rotate_builtin_runner_token(tx)
    work_dir = settings.data_dir / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME")}
    env["CIRCLET_RUNNER_TOKEN"] = token  # not on the command line, where ps would show it
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "circlet",
        "runner",
        "--server",
        settings.public_url(),
        "--resource-class",
        "*",
        "--concurrency",
        str(slots),
        "--work-dir",
        str(work_dir),
        "--name",
        "built-in",
        env=env,
    )


async def _stop(child: asyncio.subprocess.Process) -> None:
    if child.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), RUNNER_STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()


def default_data_dir() -> Path:
    return make_settings().data_dir
