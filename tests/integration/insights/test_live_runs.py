"""Real runs (API trigger, runner, engine events) show up in Insights as soon as they finish."""

from __future__ import annotations

import httpx

from circlet.engine import access, reads
from circlet.engine.insights import record_test_results
from circlet.model.tests import TestCase, TestOutcome
from circlet.store import accounts as account_store
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser, wait_for

CONFIG = """\
version: 2.1
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo built
  test:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: exit 1
workflows:
  main:
    jobs:
      - build
      - test: {requires: [build]}
"""


async def test_finished_runs_are_counted_live(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    await runner()
    created = await client.post("/api/v2/project/gh/acme/app/pipeline", headers=account.headers, json={})
    assert created.status_code == 201, created.text
    workflows = await wait_for(
        client,
        f"/api/v2/pipeline/{created.json()['id']}/workflow",
        account.headers,
        lambda body: body["items"] and body["items"][0]["status"] not in ("running", "failing"),
    )
    workflow = workflows["items"][0]
    assert workflow["status"] == "failed"

    metrics = (await client.get("/api/v2/insights/gh/acme/app/workflows", headers=account.headers)).json()
    (item,) = metrics["items"]
    assert item["name"] == "main"
    assert (
        item["metrics"]["total_runs"],
        item["metrics"]["failed_runs"],
        item["metrics"]["success_rate"],
    ) == (1, 1, 0.0)
    jobs = (
        await client.get("/api/v2/insights/gh/acme/app/workflows/main/jobs", headers=account.headers)
    ).json()
    assert {j["name"]: j["metrics"]["successful_runs"] for j in jobs["items"]} == {"build": 1, "test": 0}
    runs = (await client.get("/api/v2/insights/gh/acme/app/workflows/main", headers=account.headers)).json()
    assert [(r["id"], r["status"]) for r in runs["items"]] == [(workflow["id"], "failed")]

    async with store.transaction() as tx:  # what the execution engine does with a job's JUnit upload
        user = await account_store.get_user(tx, account.user_id)
        job = next(
            j
            for j in await reads.workflow_jobs(tx, await access.workflow_for(tx, user, workflow["id"]))
            if j.name == "test"
        )
        await record_test_results(
            tx,
            job,
            [
                TestCase(name="test_x", classname="t", result=TestOutcome.FAILURE, run_time=0.25),
                TestCase(name="test_y"),
            ],
        )
    tests = (
        await client.get("/api/v2/insights/gh/acme/app/workflows/main/test-metrics", headers=account.headers)
    ).json()
    assert tests["total_test_runs"] == 2
    assert [t["test_name"] for t in tests["most_failed_tests"]] == ["test_x"]
    assert tests["test_runs"][0]["test_counts"] == {
        "success": 1,
        "failure": 1,
        "skipped": 0,
        "error": 0,
        "total": 2,
    }
