"""Shared setup of the control tests: configs of echo jobs, an org with a project, and pipelines run to
their end through the real app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Account, MakeProject, MakeRepo, MakeUser, wait_for

V2 = "/api/v2"
PIPELINES = f"{V2}/project/gh/acme/app/pipeline"


def echo_config(workflow: str, **commands: str) -> str:
    """A config whose jobs each run one command (``name=command``), and one workflow ``main`` whose
    ``jobs:`` list is ``workflow`` (YAML lines)."""
    jobs = "".join(
        f"  {name}:\n    docker: [{{image: cimg/base:stable}}]\n    steps:\n      - run: {command}\n"
        for name, command in commands.items()
    )
    listed = "".join(f"      {line}\n" for line in workflow.strip().splitlines())
    return f"version: 2.1\njobs:\n{jobs}workflows:\n  main:\n    jobs:\n{listed}"


def all_stopped(body: Any) -> bool:
    """Every workflow of the pipeline has stopped running."""
    return bool(body["items"]) and all(w["status"] not in ("running", "failing") for w in body["items"])


async def trigger(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    """Trigger gh/acme/app's pipeline; its id."""
    response = await client.post(PIPELINES, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def run_to_end(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Trigger a pipeline and wait until its workflows stopped; the first workflow."""
    pipeline_id = await trigger(client, headers)
    body = await wait_for(client, f"{V2}/pipeline/{pipeline_id}/workflow", headers, all_stopped)
    first: dict[str, Any] = body["items"][0]
    return first


MakeOrg = Callable[[str], Awaitable[tuple[Account, Account]]]


@pytest.fixture
def acme(make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject) -> MakeOrg:
    """``await acme(config)``: a member of gh/acme, a stranger from gh/other, and gh/acme/app on a repo
    holding ``config``."""

    async def _make(config: str) -> tuple[Account, Account]:
        account = await make_user()
        stranger = await make_user(org="gh/other")
        await make_project(make_repo(config))
        return account, stranger

    return _make
