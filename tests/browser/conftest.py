"""Browser tests: a real ``circlet serve`` (with its built-in runner) on a free port and a fresh
database, driven by the machine's Chromium through Playwright."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from circlet.engine import accounts, projects
from circlet.insights.seed import seed_project_history
from circlet.settings import to_async_url
from circlet.store.db import Store
from tests.conftest import MakeRepo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 3.0
SLUG = "gh/acme/app"
SCREENSHOTS_ENV = "CIRCLET_SCREENSHOTS"  #: a directory: tests save the screenshots used in the docs


@dataclass
class Server:
    base_url: str
    token: str
    data_dir: Path
    env: dict[str, str]
    slug: str = SLUG
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base_url}/api/v2{path}",
            headers={"Circle-Token": self.token},
            timeout=30,
            **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def trigger(self, **body: Any) -> Any:
        return self.api("POST", f"/project/{self.slug}/pipeline", json=body or {"branch": "main"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"circlet serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("circlet serve did not start")


StartServer = Callable[..., Server]


async def _prepare(url: str, repo: Path, *, seed_runs: int) -> str:
    """Migrate the database, add user alice (org gh/acme) and the project; returns her API token."""
    store = Store.from_url(url)
    try:
        await store.migrate()
        async with store.transaction() as tx:
            _, token = await accounts.create_user(tx, login="alice", name="Alice", org="gh/acme")
            await projects.add_project(tx, SLUG, repo_url=str(repo))
            await accounts.create_user(tx, login="mallory", name="Mallory", org="gh/other")
            await projects.add_project(tx, "gh/other/secret", repo_url=str(repo))
        if seed_runs:
            await seed_project_history(store, SLUG, seed_runs, end=datetime.now(UTC), days=40)
    finally:
        await store.close()
    return token


@pytest.fixture
def serve(tmp_path: Path, database_url: str, make_repo: MakeRepo) -> Iterator[StartServer]:
    """Start ``circlet serve`` for a project whose repository holds ``config``; returns a Server."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):  # .ci/run installs it: a missing browser there is a failure, not a skip
            pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    started: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []

    def _start(config: str, *, files: dict[str, str] | None = None, seed_runs: int = 0) -> Server:
        data_dir = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "USER", "LOGNAME")}
        env.update(CIRCLET_DATA_DIR=str(data_dir), CIRCLET_DATABASE_URL=database_url)
        repo = make_repo(config, files)
        # Playwright's sync API owns this thread's event loop, so the setup runs in its own thread
        with ThreadPoolExecutor(1) as pool:
            token = pool.submit(
                asyncio.run, _prepare(to_async_url(database_url), repo, seed_runs=seed_runs)
            ).result()
        port = _free_port()
        log = (tmp_path / "serve.log").open("wb")
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "circlet", "serve", "--port", str(port), "--runners", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, with the built-in runner and its steps
        )
        started.append(process)
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url, process)
        return Server(base_url=base_url, token=token, data_dir=data_dir, env=env, process=process)

    yield _start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for log in logs:
        log.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(browser: Any, server: Server, *, width: int = 1280, height: int = 860, dark: bool = False) -> Any:
    """A new page (its own cookies) signed in as the server's user through the sign-in form."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, color_scheme="dark" if dark else "light"
    )
    context.set_default_timeout(45_000)
    page = context.new_page()
    page.goto(f"{server.base_url}/")
    assert "/login" in page.url
    page.fill("#token", server.token)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{server.base_url}/")
    return page


def shoot(page: Any, name: str, *, full_page: bool = False) -> None:
    """Save a screenshot for the docs when CIRCLET_SCREENSHOTS names a directory."""
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=full_page)
