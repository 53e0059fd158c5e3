"""Sibling jobs finishing at the same moment, each in its own transaction: the job that requires both
is unblocked whichever commits first (on PostgreSQL neither may decide alone on what it read)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from circlet.engine import accounts, runs
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.execution.helpers import V2, trigger, workflow_jobs

FAN_IN = """\
version: 2.1
jobs:
  work:
    machine: true
    steps:
      - run: echo work
workflows:
  main:
    jobs:
      - work: {name: left}
      - work: {name: right}
      - work: {name: last, requires: [left, right]}
"""
CLAIM = {"resource_class": "*", "runner_name": "r", "wait_s": 0}
HOLD_S = 1.0  # seconds the first finish stays uncommitted while the second one runs


async def _claim(client: httpx.AsyncClient, runner: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/runner/v1/claim", json=CLAIM, headers=runner)
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def _finish(store: Store, task: dict[str, Any]) -> None:
    async with store.transaction() as tx:
        await runs.finish_task(tx, task["task_id"], task["lease_id"], "success")


async def test_two_sibling_finishes_in_flight_together_unblock_their_dependent(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    await make_project(make_repo(FAN_IN))
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "*")
    runner = {"Authorization": f"Bearer {token}"}
    pipeline = await trigger(client, account, branch="main")
    first, second = await _claim(client, runner), await _claim(client, runner)

    async with store.transaction() as tx:
        await runs.finish_task(tx, first["task_id"], first["lease_id"], "success")
        other = asyncio.create_task(_finish(store, second))
        await asyncio.wait({other}, timeout=HOLD_S)  # it must not decide on the uncommitted first finish
    await asyncio.wait_for(other, 30)

    listed = await client.get(f"{V2}/pipeline/{pipeline['id']}/workflow", headers=account.headers)
    [workflow] = listed.json()["items"]
    jobs = {j["name"]: j for j in await workflow_jobs(client, account, workflow["id"])}
    assert (jobs["left"]["status"], jobs["right"]["status"]) == ("success", "success")
    assert jobs["last"]["status"] == "queued", jobs["last"]
    third = await _claim(client, runner)
    assert third["job_name"] == "last"
