"""Job types and workflow options through the real app and database: a no-op job succeeds as soon as
its requirements are met, without a runner; a failed workflow with ``max_auto_reruns`` reruns itself
from failed."""

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


RERUNS = """\
version: 2.1
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
  flaky: {docker: [{image: cimg/base:stable}], steps: [{run: "false"}]}
workflows:
  w:
    max_auto_reruns: 2
    jobs:
      - build
      - flaky: {requires: [build]}
"""


async def test_failed_workflow_reruns_from_failed_until_its_reruns_are_spent(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    await make_project(make_repo(RERUNS))
    pipeline_id = await _trigger(client, account.headers)
    fake = await _fake_runner(store, client)
    build = await fake.claim()
    assert build["job_name"] == "build"
    await fake.finish(build)
    for _ in range(3):  # the first run and its two automatic reruns
        flaky = await fake.claim()
        assert flaky["job_name"] == "flaky"  # build succeeded once and is reused
        await fake.finish(flaky, "failed")
    url = f"{V2}/pipeline/{pipeline_id}/workflow"
    workflows = (await client.get(url, headers=account.headers)).json()["items"]
    assert [w["status"] for w in workflows] == ["failed"] * 3
    assert len({w["id"] for w in workflows}) == 3
    assert (
        await fake.client.post(
            "/runner/v1/claim",
            headers=fake.headers,
            json={"resource_class": "*", "runner_name": "test", "wait_s": 0},
        )
    ).status_code == 204  # no fourth run
    manual = await client.post(
        f"{V2}/workflow/{workflows[0]['id']}/rerun", headers=account.headers, json={"from_failed": True}
    )
    assert manual.status_code == 202, manual.text
    await fake.finish(await fake.claim(), "failed")
    workflows = (await client.get(url, headers=account.headers)).json()["items"]
    assert len(workflows) == 4  # a manual rerun is not rerun by itself
