"""Shutdown with real processes: ``circlet serve`` stops its runner child (SIGTERM, a second
SIGTERM that cancels running jobs, then SIGKILL), and a runner whose ``serve`` was killed outright
cancels its jobs and exits: no runner or job processes are left behind."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from circlet.settings import Settings
from tests.conftest import MakeRepo
from tests.integration.execution.processes import (
    Served,
    alive,
    children,
    prepare,
    start_serve,
    wait_file,
    wait_gone,
)


def _config(pid_file: Path) -> str:
    return (
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        f"      - run: echo $$ > {pid_file}; exec sleep 300\n"
        "workflows:\n  main:\n    jobs: [build]\n"
    )


async def _job_running(settings: Settings, make_repo: MakeRepo, tmp_path: Path) -> tuple[Served, int, int]:
    """serve with a job sleeping in its step; returns (served, runner pid, step pid)."""
    pid_file = tmp_path / "step.pid"
    token = await prepare(settings, make_repo(_config(pid_file)))
    served = start_serve(settings, token)
    async with httpx.AsyncClient(base_url=served.url, headers=served.headers, timeout=10) as http:
        response = await http.post("/api/v2/project/gh/acme/app/pipeline", json={})
        assert response.status_code == 201, response.text
    step_pid = int(await wait_file(pid_file, 60))
    runner_pids = children(served.proc.pid)
    assert len(runner_pids) == 1 and alive(step_pid)
    return served, runner_pids[0], step_pid


async def test_sigkill_of_serve_leaves_no_runner_or_job(
    settings: Settings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    served, runner_pid, step_pid = await _job_running(settings, make_repo, tmp_path)
    served.proc.send_signal(signal.SIGKILL)
    served.proc.wait(10)
    assert await wait_gone([runner_pid, step_pid], 20) == []


async def test_sigterm_of_serve_stops_runner_and_cancels_job(
    settings: Settings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    served, runner_pid, step_pid = await _job_running(settings, make_repo, tmp_path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    served.proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(served.proc.wait, 40)
    took = loop.time() - started
    assert code == 0 and not alive(runner_pid) and not alive(step_pid)
    assert took < 30, took  # a grace period and the second SIGTERM, not a 300 s job


HELD = "version: 2.1\njobs:\n  build: {machine: true, steps: [{run: echo built}]}\nworkflows:\n  main:\n    jobs:\n      - hold: {type: approval}\n      - build: {requires: [hold]}\n"


async def test_sigterm_of_serve_cuts_open_event_streams(
    settings: Settings, make_repo: MakeRepo, tmp_path: Path
) -> None:
    """A browser left on a page of a held workflow keeps its event stream open: serve still stops
    promptly (uvicorn ends the open response on shutdown; the stream holds no transaction)."""
    # no built-in runner: its long-polled claim (up to 30 s) would hold the stop on its own
    served = start_serve(settings, await prepare(settings, make_repo(HELD)), runners=0)
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as browser:
            trigger = await browser.post(
                "/api/v2/project/gh/acme/app/pipeline", json={}, headers=served.headers
            )
            assert trigger.status_code == 201, trigger.text
            form = (await browser.get("/login")).text
            csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed_in = await browser.post("/login", data={"token": served.token, "csrf_token": csrf})
            assert signed_in.status_code == 303
            async with browser.stream("GET", "/pipelines/gh/acme/app/live") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                received = ""
                async for chunk in stream.aiter_text():
                    received += chunk
                    if "On hold" in received:
                        break
                loop = asyncio.get_running_loop()
                started = loop.time()
                served.proc.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(served.proc.wait, 40)
    finally:
        if served.proc.poll() is None:  # a failed test leaves no server behind
            served.proc.kill()
            served.proc.wait()
    assert code == 0
    assert loop.time() - started < 10  # not held open by the stream
