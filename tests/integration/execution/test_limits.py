"""The job runtime limit (``max_job_runtime_s``) ends a job as ``timedout``, and cancelling a
workflow kills the running step's processes and ends the job as ``canceled``, through the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import MakeProject, MakeRepo, MakeUser, wait_for
from tests.integration.execution.helpers import V2, finished_workflows, trigger, workflow_jobs
from tests.integration.execution.processes import alive, wait_file, wait_gone


def _config(command: str) -> str:
    return (
        "version: 2.1\njobs:\n  build:\n    machine: true\n    steps:\n"
        f"      - run: {command}\n      - run: echo never\n"
        "workflows:\n  main:\n    jobs: [build]\n"
    )


@pytest.mark.parametrize("max_runtime_s", [1.5])
async def test_job_over_its_runtime_limit_is_timedout(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    await make_project(make_repo(_config("sleep 60")))
    await runner()
    pipeline = await trigger(client, account)
    loop = asyncio.get_running_loop()
    started = loop.time()
    workflows = await finished_workflows(client, account, pipeline["id"], timeout_s=30)
    assert loop.time() - started < 20
    assert workflows[0]["status"] == "failed"
    (job,) = await workflow_jobs(client, account, workflows[0]["id"])
    assert job["status"] == "timedout"
    build = (
        await client.get(f"/api/v1.1/project/gh/acme/app/{job['job_number']}", headers=account.headers)
    ).json()
    assert [s["name"] for s in build["steps"]] == ["sleep 60"]  # the next step never ran
    assert build["steps"][0]["actions"][0]["status"] in ("timedout", "failed")


async def test_cancel_kills_the_step_and_ends_the_job_canceled(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    account = await make_user()
    await make_project(make_repo(_config(f"echo $$ > {pid_file}; exec sleep 300")))
    await runner()
    pipeline = await trigger(client, account)
    pid = int(await wait_file(pid_file, 30))
    assert alive(pid)
    body = await wait_for(
        client, f"{V2}/pipeline/{pipeline['id']}/workflow", account.headers, lambda b: b["items"]
    )
    workflow_id = body["items"][0]["id"]
    response = await client.post(f"{V2}/workflow/{workflow_id}/cancel", headers=account.headers)
    assert response.status_code == 202, response.text
    assert await wait_gone([pid], 5) == []  # killed within 5 s of the cancel
    workflows = await finished_workflows(client, account, pipeline["id"])
    assert workflows[0]["status"] == "canceled"
    (job,) = await workflow_jobs(client, account, workflow_id)
    assert job["status"] == "canceled"
