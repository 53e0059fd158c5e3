"""Output uploads trust a lease they found valid for a moment (``OutputLeases``), and only that lease
under that runner token; an upload that arrives ahead of the one before it waits for it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from circlet.engine import accounts, runs
from circlet.engine.live import LiveLogs, OutputLeases
from circlet.protocol import FEATURE_OUTPUT_AHEAD
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


async def _claimed(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> tuple[dict[str, str], dict[str, str]]:
    """(runner headers, claimed task) of a freshly triggered job."""
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
    return runner, claim.json()


@pytest.mark.parametrize("trust_s", [0.0, 60.0])
async def test_output_needs_the_tasks_lease_and_a_runner_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    trust_s: float,
) -> None:
    app.state.output_leases = OutputLeases(trust_s)
    runner, task = await _claimed(client, store, make_user, make_repo, make_project)
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    base = f"/runner/v1/tasks/{task['task_id']}"
    output = f"{base}/steps/0/output"
    assert (
        await client.post(f"{base}/steps/0/start", json={"name": "hello", "started_at": NOW}, headers=leased)
    ).is_success
    for offset, data in ((0, b"one\n"), (4, b"two\n")):  # the second one finds the lease kept
        answer = await client.post(output, params={"offset": offset}, content=data, headers=leased)
        assert answer.json() == {"size": offset + 4}
    stale = {**runner, "X-Circlet-Lease": "not-the-lease"}
    assert (await client.post(output, content=b"x", headers=stale)).status_code == 409
    stranger = {"Authorization": "Bearer crt_unknown", "X-Circlet-Lease": task["lease_id"]}
    assert (await client.post(output, content=b"x", headers=stranger)).status_code == 401
    assert (await client.post(f"{base}/finish", json={"status": "success"}, headers=leased)).is_success
    late = await client.post(output, params={"offset": 8}, content=b"late\n", headers=leased)
    # A lease found valid a moment ago is still trusted; one not kept is read again and found gone.
    assert late.status_code == (409 if trust_s == 0 else 200)
    expected = b"one\ntwo\n" + (b"" if trust_s == 0 else b"late\n")
    assert await app.state.logs.read(task["job_id"], 0, 0) == expected


async def test_an_upload_ahead_is_held_until_the_bytes_before_it_arrive(
    app: FastAPI,
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    runner, task = await _claimed(client, store, make_user, make_repo, make_project)
    assert FEATURE_OUTPUT_AHEAD in task["features"]
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    base = f"/runner/v1/tasks/{task['task_id']}"
    output = f"{base}/steps/0/output"
    started = await client.post(
        f"{base}/steps/0/start", json={"name": "hello", "started_at": NOW}, headers=leased
    )
    assert started.is_success
    ahead = asyncio.create_task(client.post(output, params={"offset": 4}, content=b"two\n", headers=leased))
    await asyncio.sleep(0.2)
    assert not ahead.done()
    first = await client.post(output, params={"offset": 0}, content=b"one\n", headers=leased)
    assert first.json() == {"size": 4}
    assert (await asyncio.wait_for(ahead, 5)).json() == {"size": 8}
    assert await app.state.logs.read(task["job_id"], 0, 0) == b"one\ntwo\n"
    async with store.transaction() as tx:  # a size answered late never replaces a larger one
        leased_task = await runs.output_task(tx, task["task_id"], task["lease_id"])
        await runs.record_output_size(tx, leased_task, 0, size=8, truncated=False, grow_only=True)
        await runs.record_output_size(tx, leased_task, 0, size=4, truncated=False, grow_only=True)
    async with store.transaction() as tx:
        step = await step_store.get_step(tx, task["job_id"], 0, 0)
    assert step is not None
    assert step.output_bytes == 8

    app.state.logs = LiveLogs(app.state.logs.root, app.state.output_watch, ahead_wait_s=0.2)
    gap = await client.post(output, params={"offset": 20}, content=b"lost\n", headers=leased)
    assert gap.status_code == 503
    assert gap.json()["message"].startswith("The log has 8 bytes; the upload of the bytes before offset 20")
    assert await app.state.logs.read(task["job_id"], 0, 0) == b"one\ntwo\n"


async def test_a_refused_upload_ahead_leaves_the_connection_usable(
    app: FastAPI,
    client: httpx.AsyncClient,
    live_server: str,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    """Through uvicorn: a 503 answered before the body is read; the runner's next call on the same
    keep-alive connection is understood (the unread body is skipped, not taken for a request)."""
    runner, task = await _claimed(client, store, make_user, make_repo, make_project)
    app.state.logs = LiveLogs(app.state.logs.root, app.state.output_watch, ahead_wait_s=0.2)
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    output = f"/runner/v1/tasks/{task['task_id']}/steps/0/output"
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=live_server, headers=leased, limits=limits) as http:
        gap = await http.post(output, params={"offset": 9}, content=b"GET / HTTP/1.1\r\n\r\n" * 1000)
        assert gap.status_code == 503
        first = await http.post(output, params={"offset": 0}, content=b"one\n")
        assert first.json() == {"size": 4}
    assert await app.state.logs.read(task["job_id"], 0, 0) == b"one\n"
