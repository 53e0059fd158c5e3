"""Fixtures for job execution tests: settings with a log cap or a job runtime limit (parametrize
``log_cap`` / ``max_runtime_s``), and the app served over real HTTP on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from circlet.settings import Settings


@pytest.fixture
def log_cap() -> int:
    return 0


@pytest.fixture
def max_runtime_s() -> float:
    return 5 * 3600.0


@pytest.fixture
def settings(tmp_path: Path, database_url: str, log_cap: int, max_runtime_s: float) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        host="127.0.0.1",
        port=8080,
        runner_lease_s=5.0,
        runner_heartbeat_interval_s=0.5,
        reaper_interval_s=0.2,
        log_cap_bytes=log_cap,
        max_job_runtime_s=max_runtime_s,
    )


@pytest.fixture
async def live_server(app: FastAPI) -> AsyncIterator[str]:
    """The app (already started by the ``app`` fixture) served by uvicorn; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not serving.done(), serving
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()
