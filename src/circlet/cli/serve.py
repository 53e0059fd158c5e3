"""``circlet serve``: the API server plus built-in runners (a child ``circlet runner`` process)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from circlet.cli.common import DataDir, make_settings
from circlet.settings import Settings

RUNNER_STOP_GRACE_S = 5.0  # seconds after each SIGTERM to the runner child before the next signal


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
    from circlet.runner.executor import wait_for_children_with_pidfds

    wait_for_children_with_pidfds()  # git runs as child processes of the server
    asyncio.run(_serve(settings, runners=runners, demo=demo))


async def _serve(settings: Settings, *, runners: int, demo: bool) -> None:
    from circlet.api.app import create_app  # the server stack loads only when serving

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
    server = _Server(config)
    server.before_shutdown = app.state.store.waker.stop
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.02)
    # What start-up built (modules, app, routes, templates) lives as long as the server: move it out of
    # the collector's sight so a collection walks only what requests allocate.
    gc.collect()
    gc.freeze()
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


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal that stopped it once it is done, which would kill us before
    the runner child is stopped; we stop the child and then exit normally instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    before_shutdown: Callable[[], None] | None = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn waits for open requests before it stops: end the runners' long-poll claims first
        (``before_shutdown``), or a stop would wait for their wait to run out (up to half a minute)."""
        if self.before_shutdown is not None:
            self.before_shutdown()
        await super().shutdown(sockets)


async def _start_runner(app: object, settings: Settings, slots: int) -> asyncio.subprocess.Process:
    from circlet.engine.accounts import rotate_builtin_runner_token

    store = app.state.store  # type: ignore[attr-defined]
    async with store.transaction() as tx:
        token = await rotate_builtin_runner_token(tx)
    work_dir = settings.data_dir / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    # PYTHONPATH: the runner imports the same circlet as the server (jobs never see this environment)
    kept = ("PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in kept}
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
        "--parent-pid",
        str(os.getpid()),  # the runner cancels its jobs and exits if we die
        env=env,
        start_new_session=True,  # a terminal's Ctrl-C reaches only us; we stop the runner
    )


async def _stop(child: asyncio.subprocess.Process, grace_s: float = RUNNER_STOP_GRACE_S) -> None:
    """SIGTERM (stop claiming, finish running jobs), then a second SIGTERM (cancel them now), then
    SIGKILL, each after ``grace_s`` without the runner exiting."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if child.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.wait(), grace_s)


def default_data_dir() -> Path:
    return make_settings().data_dir
