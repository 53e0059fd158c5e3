"""Batched runner reports (``task-report``): step events folded into one call, the task's finish with
the claim of the runner's next task, and the real runner using them."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from circlet.engine import accounts
from circlet.protocol import FEATURE_TASK_REPORT
from circlet.store import steps as step_store
from circlet.store.db import Store
from tests.conftest import Account, MakeProject, MakeRepo, MakeUser, wait_for
from tests.integration.execution.helpers import V2, finished_workflows, trigger, workflow_jobs

TWO_JOBS = """\
version: 2.1
jobs:
  one:
    machine: true
    steps:
      - run: echo one
      - run: echo more
  two:
    machine: true
    steps:
      - run: echo two
workflows:
  main:
    jobs: [one, two]
"""
T0, T1 = "2026-11-28T00:00:00.000Z", "2026-11-28T00:00:01.500Z"
CLAIM = {"resource_class": "*", "runner_name": "r", "wait_s": 0}


async def _claim(client: httpx.AsyncClient, runner: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/runner/v1/claim", json=CLAIM, headers=runner)
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


@dataclass(frozen=True)
class Leased:
    account: Account
    runner: dict[str, str]  #: the runner's auth header
    task: dict[str, Any]  #: the claimed assignment


@pytest.fixture
async def leased_task(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> Leased:
    """A project with TWO_JOBS, a pipeline of it, and one of its tasks claimed by a runner."""
    account = await make_user()
    await make_project(make_repo(TWO_JOBS))
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "*")
    runner = {"Authorization": f"Bearer {token}"}
    await trigger(client, account, branch="main")
    return Leased(account, runner, await _claim(client, runner))


async def test_report_folds_steps_and_claims_the_next_task(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    await make_project(make_repo(TWO_JOBS))
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "*")
    runner = {"Authorization": f"Bearer {token}"}
    pipeline = await trigger(client, account, branch="main")
    first = await _claim(client, runner)
    assert FEATURE_TASK_REPORT in first["features"]
    leased = {**runner, "X-Circlet-Lease": first["lease_id"]}
    url = f"/runner/v1/tasks/{first['task_id']}/report"

    # Step 0 started and ended within one report (output included); step 1 only started: it runs.
    quick = {
        "index": 0,
        "start": {"name": "echo", "started_at": T0},
        "finish": {
            "status": "success",
            "exit_code": 0,
            "ended_at": T1,
            "output": base64.b64encode(b"one\n").decode(),
            "output_offset": 0,
        },
    }
    started = {"index": 1, "start": {"name": "more", "started_at": T1}}
    for _ in range(2):  # a retried report changes nothing
        answer = await client.post(url, json={"steps": [quick, started]}, headers=leased)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"cancel": False}
    async with store.transaction() as tx:
        step0 = await step_store.get_step(tx, first["job_id"], 0, 0)
        step1 = await step_store.get_step(tx, first["job_id"], 0, 1)
    assert step0 is not None and (step0.status, step0.exit_code, step0.output_bytes) == ("success", 0, 4)
    assert step0.ended_at is not None and step0.started_at is not None
    assert (step0.ended_at - step0.started_at).total_seconds() == 1.5
    assert step1 is not None and step1.status == "running" and step1.ended_at is None

    # Step 1's finish, the task's finish and a claim: one call, which answers with the other job.
    last = {"index": 1, "finish": {"status": "success", "exit_code": 0, "ended_at": T1}}
    body = {"steps": [last], "finish": {"status": "success"}, "claim": CLAIM}
    answer = await client.post(url, json=body, headers=leased)
    assert answer.status_code == 200, answer.text
    second = answer.json()["next"]
    assert second["job_id"] != first["job_id"] and second["steps"][0]["command"] == "echo two"
    assert (await client.post(url, json=body, headers=leased)).status_code == 409  # the lease is spent
    async with store.transaction() as tx:
        step1 = await step_store.get_step(tx, first["job_id"], 0, 1)
    assert step1 is not None and step1.status == "success"

    # The last task: no work is left, so the claim answers null.
    url = f"/runner/v1/tasks/{second['task_id']}/report"
    leased = {**runner, "X-Circlet-Lease": second["lease_id"]}
    answer = await client.post(
        url, json={"steps": [], "finish": {"status": "failed"}, "claim": CLAIM}, headers=leased
    )
    assert answer.status_code == 200 and answer.json() == {"cancel": False, "next": None}
    workflows = await finished_workflows(client, account, pipeline["id"])
    assert workflows[0]["status"] == "failed"
    jobs = {j["name"]: j["status"] for j in await workflow_jobs(client, account, workflows[0]["id"])}
    assert jobs == {"one": "success", "two": "failed"}


async def test_report_refuses_a_claim_for_another_class(
    client: httpx.AsyncClient, leased_task: Leased
) -> None:
    runner, task = leased_task.runner, leased_task.task
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    body = {"steps": [], "finish": {"status": "success"}, "claim": {**CLAIM, "resource_class": "acme/gpu"}}
    url = f"/runner/v1/tasks/{task['task_id']}/report"
    assert (await client.post(url, json=body, headers=leased)).status_code == 403
    # Refused as a whole: the task is still running under its lease.
    assert (await client.post(url, json={"steps": []}, headers=leased)).status_code == 200


async def test_runner_shows_a_long_step_running_and_chains_tasks(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
    tmp_path: Path,
) -> None:
    go = tmp_path / "go"
    config = TWO_JOBS.replace("echo more", f"while [ ! -f {go} ]; do sleep 0.02; done")
    account = await make_user()
    await make_project(make_repo(config))
    await runner(concurrency=1)
    pipeline = await trigger(client, account, branch="main")
    body = await wait_for(
        client, f"{V2}/pipeline/{pipeline['id']}/workflow", account.headers, lambda b: bool(b["items"])
    )
    jobs = await workflow_jobs(client, account, body["items"][0]["id"])
    job_id = next(j["id"] for j in jobs if j["name"] == "one")
    step: Any = None
    async with asyncio.timeout(20):  # the silent step shows as running within the report delay
        while step is None or step.status != "running":
            await asyncio.sleep(0.05)
            async with store.transaction() as tx:
                step = await step_store.get_step(tx, job_id, 0, 1)
    async with store.transaction() as tx:
        first = await step_store.get_step(tx, job_id, 0, 0)
    assert first is not None and first.status == "success"
    go.touch()
    workflows = await finished_workflows(client, account, pipeline["id"])
    assert workflows[0]["status"] == "success"
    jobs = await workflow_jobs(client, account, workflows[0]["id"])
    assert {j["status"] for j in jobs} == {"success"}


async def test_a_bad_report_is_refused_with_a_message_and_changes_nothing(
    client: httpx.AsyncClient, leased_task: Leased
) -> None:
    runner, task = leased_task.runner, leased_task.task
    url = f"/runner/v1/tasks/{task['task_id']}/report"
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    refused = [
        (await client.post(url, json={"steps": []}, headers=runner), 400, "X-Circlet-Lease"),
        (await client.post(url, content=b"{not json", headers=leased), 400, "JSON"),
        (await client.post(url, json={"finish": {"status": "success"}}, headers=leased), 400, "steps"),
        (
            await client.post(url, json={"steps": [], "finish": {"status": "great"}}, headers=leased),
            400,
            "status",
        ),
        (
            await client.post(url, json={"steps": []}, headers={"X-Circlet-Lease": task["lease_id"]}),
            401,
            "token",
        ),
        (await client.post(url, json={"steps": []}, headers={**runner, "X-Circlet-Lease": "stale"}), 409, ""),
    ]
    for response, status, words in refused:
        assert response.status_code == status, response.text
        assert words in response.json()["message"]
    # none of it touched the task: it still runs under its lease, and a good report is taken
    done = await client.post(url, json={"steps": [], "finish": {"status": "success"}}, headers=leased)
    assert done.status_code == 200, done.text
    assert done.json() == {"cancel": False}


async def test_a_quick_steps_size_is_what_its_log_holds(
    client: httpx.AsyncClient, store: Store, leased_task: Leased
) -> None:
    """The output of a quick step is written while the report's statements run; the step's row
    records the size the log ends up with, even when the offset sent is past the end of the log
    (the bytes land at its end: a log never has a hole)."""
    account, runner, task = leased_task.account, leased_task.runner, leased_task.task
    leased = {**runner, "X-Circlet-Lease": task["lease_id"]}
    url = f"/runner/v1/tasks/{task['task_id']}/report"
    steps = [
        {
            "index": index,
            "start": {"name": f"step {index}", "started_at": T0},
            "finish": {
                "status": "success",
                "exit_code": 0,
                "ended_at": T1,
                "output": base64.b64encode(text).decode(),
                "output_offset": offset,
            },
        }
        for index, (text, offset) in enumerate([(b"zero\n", 0), (b"one\n", 10)])
    ]
    answer = await client.post(url, json={"steps": steps, "finish": {"status": "success"}}, headers=leased)
    assert answer.status_code == 200, answer.text
    async with store.transaction() as tx:
        sizes = [(await step_store.get_step(tx, task["job_id"], 0, i)) for i in (0, 1)]
    assert [s.output_bytes if s else None for s in sizes] == [5, 4]
    number = task["job_number"]
    for index, text in ((0, "zero\n"), (1, "one\n")):
        raw = await client.get(
            f"/api/private/output/raw/gh/acme/app/{number}/output/0/{index}", headers=account.headers
        )
        assert raw.status_code == 200 and raw.text == text, raw.text
