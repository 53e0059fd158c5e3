"""Schemathesis against a live server (uvicorn on a free port, real database) with the vendored
CircleCI spec: for every operation in OPERATIONS, bounded examples with a valid token, some of them
aimed at real resources. No 5xx, and every response must match the spec for its status code."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from circlet.api.app import create_app
from circlet.engine import accounts, projects
from circlet.settings import Settings
from circlet.store.db import Store
from tests.conftest import GIT_ENV, _admin_pg_url, _pg_admin
from tests.contract import spec

pytestmark = pytest.mark.slow

#: The API v2 operations of the core loop (issue #2). Add an operation here when it is implemented.
OPERATIONS = (
    "getCurrentUser",
    "getCollaborations",
    "getUser",
    "getProjectBySlug",
    "listPipelinesForProject",
    "triggerPipeline",
    "listMyPipelines",
    "getPipelineByNumber",
    "listPipelines",
    "getPipelineById",
    "getPipelineConfigById",
    "getPipelineValuesById",
    "listWorkflowsByPipelineId",
    "getWorkflowById",
    "listWorkflowJobs",
    "getJobDetails",
    "triggerPipelineRun",
)
MAX_EXAMPLES = 50  # per operation
REQUEST_TIMEOUT_S = 10.0  # seconds for one request
START_TIMEOUT_S = 30.0  # seconds for the server to listen
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

CONFIG = """\
version: 2.1
parameters:
  greeting: {type: string, default: hello}
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "<< pipeline.parameters.greeting >>"
workflows:
  main:
    jobs: [build]
"""


@dataclass(frozen=True)
class Live:
    url: str
    token: str
    known: dict[str, str]  #: real values for path parameters, by parameter name


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the whole module: starting one per operation would cost more than the fuzzing."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with _database(tmp) as url:
        server_settings = Settings(
            data_dir=tmp / "data", database_url=url, host="127.0.0.1", port=_free_port()
        )
        token, user_id = asyncio.run(_seed(server_settings, _make_repo(tmp / "repo")))
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(server_settings),
                host="127.0.0.1",
                port=server_settings.port,
                loop="asyncio",
                lifespan="on",
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            _wait_started(server, thread)
            base = server_settings.public_url()
            yield Live(base + "/api/v2", token, _known_values(base, token, user_id))
        finally:
            server.should_exit = True
            thread.join(START_TIMEOUT_S)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_operation_answers_within_the_spec(live: Live, operation_id: str) -> None:
    operation = schemathesis.openapi.from_dict(spec()).find_operation_by_id(operation_id)
    names = {p.name for p in operation.path_parameters}
    known = {name: value for name, value in live.known.items() if name in names}
    if operation_id == "getUser":
        known["id"] = live.known["user-id"]
    strategies = [operation.as_strategy()]
    if known:
        strategies.append(operation.as_strategy(path_parameters=known))

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def fuzz(case: Any) -> None:
        response = case.call(
            base_url=live.url, headers={"Circle-Token": live.token}, timeout=REQUEST_TIMEOUT_S
        )
        case.validate_response(response, checks=CHECKS)

    fuzz()


async def _seed(server_settings: Settings, repo: Path) -> tuple[str, str]:
    store = Store.from_url(server_settings.resolved_database_url())
    try:
        await store.migrate()
        async with store.transaction() as tx:
            user, token = await accounts.create_user(tx, login="fuzzer", name="Fuzzer", org="gh/acme")
            await projects.add_project(tx, "gh/acme/app", repo_url=str(repo), default_branch="main")
        return token, user.id
    finally:
        await store.close()


def _known_values(base: str, token: str, user_id: str) -> dict[str, str]:
    """Trigger one pipeline and collect the ids a client would learn from it."""
    with httpx.Client(base_url=base + "/api/v2", headers={"Circle-Token": token}, timeout=30) as client:
        created = client.post("/project/gh/acme/app/pipeline", json={"branch": "main"})
        assert created.status_code == httpx.codes.CREATED, created.text
        pipeline = created.json()
        workflow = client.get(f"/pipeline/{pipeline['id']}/workflow").json()["items"][0]
        job = client.get(f"/workflow/{workflow['id']}/job").json()["items"][0]
    return {
        "project-slug": "gh/acme/app",
        "pipeline-id": pipeline["id"],
        "pipeline-number": str(pipeline["number"]),
        "id": workflow["id"],
        "job-number": str(job["job_number"]),
        "provider": "gh",
        "organization": "acme",
        "project": "app",
        "user-id": user_id,
    }


class _database:
    """A fresh database URL: SQLite in ``tmp``, or a new PostgreSQL database dropped at exit."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self._admin = _admin_pg_url()
        self._name = f"circlet_f_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        if self._admin is None:
            return f"sqlite:///{self._tmp / 'circlet.db'}"
        _pg_admin(self._admin, f'CREATE DATABASE "{self._name}"')
        return self._admin.rsplit("/", 1)[0] + f"/{self._name}"

    def __exit__(self, *_exc: object) -> None:
        if self._admin is not None:
            _pg_admin(self._admin, f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


def _make_repo(path: Path) -> Path:
    (path / ".circleci").mkdir(parents=True)
    (path / ".circleci" / "config.yml").write_text(CONFIG)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Fuzz me"]):
        subprocess.run(["git", *argv], cwd=path, env=GIT_ENV, check=True, capture_output=True)
    return path


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive(), "the server thread died"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
