"""Job types through the real app and database: a no-op job succeeds as soon as its requirements are
met, without a runner, and what requires it then runs."""

from __future__ import annotations

import httpx

from circlet.engine.transitions import JobState, unblocked
from circlet.model.statuses import JobStatus, JobType
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.config.test_continuation import V2, _fake_runner, _trigger

CONFIG = """\
version: 2.1
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
  deploy: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
  gate: {type: no-op}
workflows:
  w:
    jobs:
      - build
      - gate: {requires: [build]}
      - marker: {type: no-op, requires: [gate]}
      - deploy: {requires: [marker]}
"""


def test_no_op_jobs_settle_in_the_same_pass_as_their_requirements():
    jobs = [
        JobState("build", JobType.BUILD, JobStatus.SUCCESS),
        JobState("gate", JobType.NO_OP, JobStatus.BLOCKED, ("build",)),
        JobState("deploy", JobType.BUILD, JobStatus.BLOCKED, ("gate",)),
        JobState("hold", JobType.APPROVAL, JobStatus.BLOCKED, ("gate",)),
        JobState("on-failure", JobType.NO_OP, JobStatus.BLOCKED, ("build",), {"build": ("failed",)}),
    ]
    assert unblocked(jobs) == {
        "gate": JobStatus.SUCCESS,
        "deploy": JobStatus.QUEUED,
        "hold": JobStatus.ON_HOLD,
        "on-failure": JobStatus.NOT_RUN,
    }


async def test_no_op_jobs_pass_through_without_a_runner(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    pipeline_id = await _trigger(client, account.headers)
    (workflow,) = (await client.get(f"{V2}/pipeline/{pipeline_id}/workflow", headers=account.headers)).json()[
        "items"
    ]
    fake = await _fake_runner(store, client)
    build = await fake.claim()
    assert build["job_name"] == "build"
    await fake.finish(build)
    deploy = await fake.claim()
    assert deploy["job_name"] == "deploy"  # gate and marker passed at once, with no runner
    await fake.finish(deploy)
    jobs = (await client.get(f"{V2}/workflow/{workflow['id']}/job", headers=account.headers)).json()["items"]
    by_name = {j["name"]: j for j in jobs}
    assert {n: j["status"] for n, j in by_name.items()} == {
        "build": "success",
        "gate": "success",
        "marker": "success",
        "deploy": "success",
    }
    assert by_name["gate"]["type"] == "build"  # the API's job types are build and approval only
    assert "job_number" not in by_name["gate"] and "job_number" in by_name["deploy"]
    finished = (await client.get(f"{V2}/workflow/{workflow['id']}", headers=account.headers)).json()
    assert finished["status"] == "success"
