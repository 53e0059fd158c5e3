"""Shared fixtures: a real database per test (SQLite, or PostgreSQL when CIRCLET_TEST_DATABASE_URL is set),
the real app over ASGI, real git repositories in temp dirs, and factories for users and projects."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from circlet.api.app import create_app
from circlet.engine import accounts, projects
from circlet.settings import Settings
from circlet.store.db import Store
from tests.contract import check_response

PG_ENV = "CIRCLET_TEST_DATABASE_URL"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/tmp",
}


def _admin_pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per test session. It is only ever copied, never used: every test gets
    its own copy, so no test sees another's rows, and none pays for running every migration."""
    base = _admin_pg_url()
    if base is None:
        path = tmp_path_factory.mktemp("template") / "circlet.db"
        _migrate(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"circlet_tmpl_{uuid.uuid4().hex[:12]}"
    _pg_admin(base, f'CREATE DATABASE "{name}"')
    try:
        _migrate(base.rsplit("/", 1)[0] + f"/{name}")
        yield name
    finally:
        _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    from circlet.settings import to_async_url

    async def _run() -> None:
        store = Store.from_url(to_async_url(url))
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(_run())


@pytest.fixture
def database_url(tmp_path: Path, _migrated_template: str) -> Iterator[str]:
    """A fresh database for this test, already migrated to head (a copy of the session's template)."""
    base = _admin_pg_url()
    if base is None:
        path = tmp_path / "circlet.db"
        shutil.copyfile(_migrated_template, path)
        yield f"sqlite:///{path}"
        return
    name = f"circlet_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(base, f'CREATE DATABASE "{name}" TEMPLATE "{_migrated_template}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no tables) for tests of the migrations themselves."""
    base = _admin_pg_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"circlet_e_{uuid.uuid4().hex[:12]}"
    _pg_admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    async def _run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_run())


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        host="127.0.0.1",
        port=8080,
        runner_lease_s=5.0,
        runner_heartbeat_interval_s=0.5,
        reaper_interval_s=0.2,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def store(app: FastAPI) -> Store:
    s: Store = app.state.store
    return s


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An API client; every /api/v2 response it receives is checked against the official spec."""
    transport = httpx.ASGITransport(app=app)

    async def _check(response: httpx.Response) -> None:
        await response.aread()
        check_response(response)

    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:8080", event_hooks={"response": [_check]}
    ) as c:
        yield c


@dataclass
class Account:
    login: str
    user_id: str
    token: str
    org: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Circle-Token": self.token}


MakeUser = Callable[..., Awaitable[Account]]


@pytest.fixture
def make_user(store: Store) -> MakeUser:
    async def _make(login: str | None = None, *, org: str = "gh/acme") -> Account:
        login = login or f"user-{uuid.uuid4().hex[:8]}"
        async with store.transaction() as tx:
            user, token = await accounts.create_user(tx, login=login, name=login.title(), org=org)
        return Account(login=login, user_id=user.id, token=token, org=org)

    return _make


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """A git repository whose first commit holds ``files`` (``config`` goes to .circleci/config.yml)."""

    def _make(
        config: str | None = None,
        files: dict[str, str] | None = None,
        *,
        branch: str = "main",
        message: str = "Initial commit\n\nWith a body.",
    ) -> Path:
        repo = tmp_path / f"repo-{uuid.uuid4().hex[:8]}"
        repo.mkdir()
        git(repo, "init", "-q", "-b", branch)
        contents = dict(files or {})
        if config is not None:
            contents[".circleci/config.yml"] = config
        for rel, text in contents.items():
            path = repo / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", message)
        return repo

    return _make


MakeProject = Callable[..., Awaitable[str]]


@pytest.fixture
def make_project(store: Store) -> MakeProject:
    async def _make(repo: Path | str, slug: str = "gh/acme/app", default_branch: str = "main") -> str:
        async with store.transaction() as tx:
            project = await projects.add_project(tx, slug, repo_url=str(repo), default_branch=default_branch)
        return project.slug

    return _make


@pytest.fixture
async def runner(app: FastAPI, store: Store, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """Start real runner agents in this event loop, speaking the runner protocol to the app over ASGI."""
    from circlet.runner.agent import run_agent

    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def _start(resource_class: str = "*", *, concurrency: int = 2, name: str = "test-runner") -> None:
        async with store.transaction() as tx:
            token = await accounts.create_runner_token(tx, resource_class)
        transport = httpx.ASGITransport(app=app)
        work = tmp_path / f"work-{name}"
        work.mkdir(exist_ok=True)
        tasks.append(
            asyncio.create_task(
                run_agent(
                    server_url="http://127.0.0.1:8080",
                    token=token,
                    resource_class=resource_class,
                    work_dir=work,
                    name=name,
                    stop=stop,
                    concurrency=concurrency,
                    transport=transport,
                    claim_wait_s=2.0,
                )
            )
        )

    yield _start
    stop.set()
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass


async def wait_for(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    done: Callable[[Any], bool],
    timeout_s: float = 30.0,
) -> Any:
    """Poll ``url`` until ``done(json)`` or fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    body: Any = None
    while loop.time() < deadline:
        response = await client.get(url, headers=headers)
        body = response.json()
        if done(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting on {url}; last body: {body}")
