"""Approve, cancel and rerun through the real app, with real runners, including the races."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from circlet.engine import accounts
from circlet.store.db import Store
from tests.conftest import wait_for
from tests.integration.control.conftest import MakeOrg, all_stopped, echo_config, trigger

V2 = "/api/v2"

HOLD = echo_config(
    "- build\n- hold: {type: approval, requires: [build]}\n- deploy: {requires: [hold]}",
    build="echo build",
    deploy="echo deploy",
)
SLOW = echo_config(
    "- slow\n- after: {requires: [slow]}", slow="{name: sleep, command: sleep 60}", after="echo after"
)
FLAKY = echo_config(
    "- build\n- test: {requires: [build]}\n- report: {requires: [test]}",
    build="echo build",
    test="test -f @FLAG@ || { touch @FLAG@; exit 1; }",
    report="echo report",
)


async def _workflow(client: httpx.AsyncClient, headers: dict[str, str], pipeline_id: str, done) -> Any:
    body = await wait_for(client, f"{V2}/pipeline/{pipeline_id}/workflow", headers, done)
    return body["items"][0]


async def _jobs(client: httpx.AsyncClient, headers: dict[str, str], workflow_id: str) -> dict[str, Any]:
    items = (await client.get(f"{V2}/workflow/{workflow_id}/job", headers=headers)).json()["items"]
    return {j["name"]: j for j in items}


async def test_approval_releases_the_workflow_once(client: httpx.AsyncClient, acme: MakeOrg, runner) -> None:
    account, stranger = await acme(HOLD)
    await runner()
    pipeline_id = await trigger(client, account.headers)
    workflow = await _workflow(
        client, account.headers, pipeline_id, lambda b: b["items"] and b["items"][0]["status"] == "on_hold"
    )
    jobs = await _jobs(client, account.headers, workflow["id"])
    hold = jobs["hold"]
    assert (
        hold["status"] == "on_hold" and hold["type"] == "approval" and jobs["deploy"]["status"] == "blocked"
    )
    url = f"{V2}/workflow/{workflow['id']}/approve/{hold['approval_request_id']}"

    assert (await client.post(url, headers=stranger.headers)).status_code == 404
    missing = await client.post(
        f"{V2}/workflow/{workflow['id']}/approve/00000000-0000-0000-0000-000000000000",
        headers=account.headers,
    )
    assert missing.status_code == 404

    first, second = await asyncio.gather(
        client.post(url, headers=account.headers), client.post(url, headers=account.headers)
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409], (first.text, second.text)
    winner = first if first.status_code == 202 else second
    assert winner.json() == {"message": "Accepted."}

    done = await _workflow(client, account.headers, pipeline_id, all_stopped)
    assert done["status"] == "success"
    jobs = await _jobs(client, account.headers, workflow["id"])
    assert jobs["hold"]["status"] == "success" and jobs["hold"]["approved_by"] == account.user_id
    assert jobs["deploy"]["status"] == "success"

    # a workflow waiting on an approval can be canceled; the approval is then refused
    other_pipeline = await trigger(client, account.headers)
    held = await _workflow(
        client, account.headers, other_pipeline, lambda b: b["items"] and b["items"][0]["status"] == "on_hold"
    )
    hold = (await _jobs(client, account.headers, held["id"]))["hold"]
    assert (
        await client.post(f"{V2}/workflow/{held['id']}/cancel", headers=account.headers)
    ).status_code == 202
    late = await client.post(
        f"{V2}/workflow/{held['id']}/approve/{hold['approval_request_id']}", headers=account.headers
    )
    assert late.status_code == 409
    jobs = await _jobs(client, account.headers, held["id"])
    assert {n: j["status"] for n, j in jobs.items()} == {
        "build": "success",
        "hold": "canceled",
        "deploy": "canceled",
    }


async def test_cancel_workflow_stops_the_running_process(
    client: httpx.AsyncClient, acme: MakeOrg, runner
) -> None:
    account, _ = await acme(SLOW)
    await runner()
    pipeline_id = await trigger(client, account.headers)
    await wait_for(
        client, f"{V2}/project/gh/acme/app/job/1", account.headers, lambda b: b["status"] == "running"
    )
    workflow = (await client.get(f"{V2}/pipeline/{pipeline_id}/workflow", headers=account.headers)).json()
    workflow_id = workflow["items"][0]["id"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.post(f"{V2}/workflow/{workflow_id}/cancel", headers=account.headers)
    assert response.status_code == 202 and response.json() == {"message": "Accepted."}

    body = (await client.get(f"{V2}/workflow/{workflow_id}", headers=account.headers)).json()
    assert body["status"] == "canceled" and body["canceled_by"] == account.user_id and body["stopped_at"]
    jobs = await _jobs(client, account.headers, workflow_id)
    assert {n: j["status"] for n, j in jobs.items()} == {"slow": "canceled", "after": "canceled"}
    assert jobs["slow"]["canceled_by"] == account.user_id
    # the runner sees the cancel in its heartbeat answer and kills the step: its task ends canceled
    detail = await wait_for(
        client,
        f"{V2}/project/gh/acme/app/job/1",
        account.headers,
        lambda b: b["parallel_runs"][0]["status"] == "canceled",
        timeout_s=5.0,
    )
    assert detail["status"] == "canceled"
    assert loop.time() - started < 5.0
    again = await client.post(f"{V2}/workflow/{workflow_id}/cancel", headers=account.headers)
    assert again.status_code == 202


async def test_cancel_one_job_by_number_and_by_id(client: httpx.AsyncClient, acme: MakeOrg, runner) -> None:
    account, stranger = await acme(SLOW)
    await runner()
    pipeline_id = await trigger(client, account.headers)
    await wait_for(
        client, f"{V2}/project/gh/acme/app/job/1", account.headers, lambda b: b["status"] == "running"
    )
    assert (
        await client.post(f"{V2}/project/gh/acme/app/job/1/cancel", headers=stranger.headers)
    ).status_code == 404
    response = await client.post(f"{V2}/project/gh/acme/app/job/1/cancel", headers=account.headers)
    assert response.status_code == 200 and response.json() == {"message": "Accepted."}
    workflow = await _workflow(client, account.headers, pipeline_id, all_stopped)
    assert workflow["status"] == "canceled" and "canceled_by" not in workflow
    jobs = await _jobs(client, account.headers, workflow["id"])
    assert jobs["slow"]["status"] == "canceled" and jobs["after"]["status"] == "not_run"
    assert (
        await client.post(f"{V2}/jobs/{jobs['slow']['id']}/cancel", headers=account.headers)
    ).status_code == 200

    second = await trigger(client, account.headers)
    await wait_for(
        client, f"{V2}/project/gh/acme/app/job/3", account.headers, lambda b: b["status"] == "running"
    )
    workflow = (await client.get(f"{V2}/pipeline/{second}/workflow", headers=account.headers)).json()[
        "items"
    ][0]
    slow = (await _jobs(client, account.headers, workflow["id"]))["slow"]
    assert (await client.post(f"{V2}/jobs/{slow['id']}/cancel", headers=account.headers)).status_code == 200
    assert (await client.get(f"{V2}/project/gh/acme/app/job/3", headers=account.headers)).json()[
        "status"
    ] == "canceled"
    unknown = await client.post(
        f"{V2}/jobs/00000000-0000-0000-0000-000000000000/cancel", headers=account.headers
    )
    assert unknown.status_code == 404


async def test_cancel_during_claim_never_runs_a_canceled_job(
    client: httpx.AsyncClient,
    acme: MakeOrg,
    store: Store,
) -> None:
    account, _ = await acme(SLOW)
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "*")
    runner_headers = {"Authorization": f"Bearer {token}"}
    outcomes = set()
    for _ in range(4):
        pipeline_id = await trigger(client, account.headers)
        workflow = (await client.get(f"{V2}/pipeline/{pipeline_id}/workflow", headers=account.headers)).json()
        workflow_id = workflow["items"][0]["id"]
        claim, cancel = await asyncio.gather(
            client.post(
                "/runner/v1/claim",
                json={"resource_class": "*", "runner_name": "r", "wait_s": 0},
                headers=runner_headers,
            ),
            client.post(f"{V2}/workflow/{workflow_id}/cancel", headers=account.headers),
        )
        assert cancel.status_code == 202
        if claim.status_code == 200:
            task = claim.json()
            beat = await client.post(
                f"/runner/v1/tasks/{task['task_id']}/heartbeat",
                headers={**runner_headers, "X-Circlet-Lease": task["lease_id"]},
            )
            assert beat.json() == {"cancel": True}
            finished = await client.post(
                f"/runner/v1/tasks/{task['task_id']}/finish",
                json={"status": "canceled"},
                headers={**runner_headers, "X-Circlet-Lease": task["lease_id"]},
            )
            assert finished.status_code == 200
            outcomes.add("claimed, then told to cancel")
        else:
            assert claim.status_code == 204
            outcomes.add("canceled before any claim")
        jobs = await _jobs(client, account.headers, workflow_id)
        assert {j["status"] for j in jobs.values()} == {"canceled"}
        status = (await client.get(f"{V2}/workflow/{workflow_id}", headers=account.headers)).json()["status"]
        assert status == "canceled"
    nothing = await client.post(
        "/runner/v1/claim",
        json={"resource_class": "*", "runner_name": "r", "wait_s": 0},
        headers=runner_headers,
    )
    assert nothing.status_code == 204 and outcomes


async def test_rerun_from_failed_reuses_successful_jobs(
    client: httpx.AsyncClient,
    acme: MakeOrg,
    runner,
    tmp_path: Path,
) -> None:
    account, stranger = await acme(FLAKY.replace("@FLAG@", str(tmp_path / "flag")))
    await runner()
    pipeline_id = await trigger(client, account.headers)
    original = await _workflow(client, account.headers, pipeline_id, all_stopped)
    assert original["status"] == "failed"
    old_jobs = await _jobs(client, account.headers, original["id"])

    url = f"{V2}/workflow/{original['id']}/rerun"
    ssh = await client.post(
        url, headers=account.headers, json={"enable_ssh": True, "jobs": [old_jobs["test"]["id"]]}
    )
    assert ssh.status_code == 400 and "not supported" in ssh.json()["message"]
    both = await client.post(
        url, headers=account.headers, json={"from_failed": True, "jobs": [old_jobs["test"]["id"]]}
    )
    assert both.status_code == 400
    assert (await client.post(url, headers=stranger.headers, json={"from_failed": True})).status_code == 404

    response = await client.post(url, headers=account.headers, json={"from_failed": True})
    assert response.status_code == 202, response.text
    new_id = response.json()["workflow_id"]
    assert new_id != original["id"]
    workflows = await wait_for(
        client,
        f"{V2}/pipeline/{pipeline_id}/workflow",
        account.headers,
        lambda b: len(b["items"]) == 2 and all_stopped(b),
    )
    by_id = {w["id"]: w for w in workflows["items"]}
    assert by_id[original["id"]]["status"] == "failed"  # the original keeps its history
    assert by_id[new_id]["status"] == "success" and by_id[new_id]["started_by"] == account.user_id
    new_jobs = await _jobs(client, account.headers, new_id)
    assert new_jobs["build"]["status"] == "success" and "job_number" not in new_jobs["build"]  # reused
    assert new_jobs["test"]["job_number"] == 4 and new_jobs["report"]["job_number"] == 5
    assert new_jobs["test"]["dependencies"] == [new_jobs["build"]["id"]]
    assert (await _jobs(client, account.headers, original["id"]))["test"]["status"] == "failed"
    clean = await client.post(
        f"{V2}/workflow/{new_id}/rerun", headers=account.headers, json={"from_failed": True}
    )
    assert clean.status_code == 400


async def test_rerun_all_selected_and_sparse(
    client: httpx.AsyncClient,
    acme: MakeOrg,
    runner,
    tmp_path: Path,
) -> None:
    (tmp_path / "flag").touch()
    account, _ = await acme(FLAKY.replace("@FLAG@", str(tmp_path / "flag")))
    await runner()
    pipeline_id = await trigger(client, account.headers)
    original = await _workflow(client, account.headers, pipeline_id, all_stopped)
    assert original["status"] == "success"
    old = await _jobs(client, account.headers, original["id"])
    url = f"{V2}/workflow/{original['id']}/rerun"

    everything = await client.post(url, headers=account.headers)
    assert everything.status_code == 202
    selected = await client.post(url, headers=account.headers, json={"jobs": [old["test"]["id"]]})
    sparse = await client.post(
        url, headers=account.headers, json={"jobs": [old["test"]["id"]], "sparse_tree": True}
    )
    assert selected.status_code == sparse.status_code == 202
    await wait_for(
        client,
        f"{V2}/pipeline/{pipeline_id}/workflow",
        account.headers,
        lambda b: len(b["items"]) == 4 and all_stopped(b),
    )
    rerun_all = await _jobs(client, account.headers, everything.json()["workflow_id"])
    assert all("job_number" in j and j["status"] == "success" for j in rerun_all.values())
    rerun_selected = await _jobs(client, account.headers, selected.json()["workflow_id"])
    assert "job_number" not in rerun_selected["build"]
    assert "job_number" in rerun_selected["test"] and "job_number" in rerun_selected["report"]
    rerun_sparse = await _jobs(client, account.headers, sparse.json()["workflow_id"])
    assert list(rerun_sparse) == ["test"] and rerun_sparse["test"]["status"] == "success"
    bad = await client.post(
        url, headers=account.headers, json={"jobs": ["00000000-0000-0000-0000-000000000000"]}
    )
    assert bad.status_code == 400
    assert (await client.post(url, headers=account.headers, json={"sparse_tree": True})).status_code == 400


async def test_rerun_of_a_running_workflow_is_refused(client: httpx.AsyncClient, acme: MakeOrg) -> None:
    account, _ = await acme(SLOW)
    pipeline_id = await trigger(client, account.headers)
    workflow = (await client.get(f"{V2}/pipeline/{pipeline_id}/workflow", headers=account.headers)).json()[
        "items"
    ][0]
    response = await client.post(f"{V2}/workflow/{workflow['id']}/rerun", headers=account.headers)
    assert response.status_code == 409 and "message" in response.json()
