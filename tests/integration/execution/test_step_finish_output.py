"""A step finish that carries the step's last output chunk (``step-finish-output``)."""

from __future__ import annotations

import base64

import httpx
from fastapi import FastAPI

from circlet.engine import accounts
from circlet.protocol import FEATURE_FINISH_OUTPUT
from circlet.store import steps as step_store
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser

V2 = "/api/v2"
CONFIG = """\
version: 2.1
jobs:
  hello:
    docker:
      - image: cimg/base:stable
    steps:
      - run: echo hello
workflows:
  main:
    jobs:
      - hello
"""
NOW = "2026-11-28T00:00:00Z"


async def test_finish_carries_the_last_output_chunk(
    app: FastAPI,
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "*")
    runner = {"Authorization": f"Bearer {token}"}
    trigger = await client.post(
        f"{V2}/project/gh/acme/app/pipeline", json={"branch": "main"}, headers=account.headers
    )
    assert trigger.status_code == 201
    claim = await client.post(
        "/runner/v1/claim", json={"resource_class": "*", "runner_name": "r", "wait_s": 0}, headers=runner
    )
    task = claim.json()
    assert FEATURE_FINISH_OUTPUT in task["features"]
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    base = f"/runner/v1/tasks/{task['task_id']}/steps/0"
    assert (
        await client.post(f"{base}/start", json={"name": "hello", "started_at": NOW}, headers=leased)
    ).is_success
    first = await client.post(f"{base}/output", params={"offset": 0}, content=b"one\n", headers=leased)
    assert first.json() == {"size": 4}
    finish = {
        "status": "success",
        "exit_code": 0,
        "ended_at": NOW,
        "output": base64.b64encode(b"two\n").decode(),
        "output_offset": 4,
    }
    for _ in range(2):  # a retried finish appends nothing twice
        assert (await client.post(f"{base}/finish", json=finish, headers=leased)).is_success
    bad = await client.post(f"{base}/finish", json={**finish, "output": "not base64!"}, headers=leased)
    assert bad.status_code == 400
    async with store.transaction() as tx:
        step = await step_store.get_step(tx, task["job_id"], 0, 0)
    assert step is not None and step.status == "success" and step.output_bytes == 8
    assert await app.state.logs.read(task["job_id"], 0, 0) == b"one\ntwo\n"
