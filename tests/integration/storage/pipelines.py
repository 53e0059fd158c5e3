"""Helpers for storage tests: trigger a pipeline, wait for its workflow, read a job's output."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account, wait_for

V2 = "/api/v2"
SLUG = "gh/acme/app"


async def run_pipeline(
    client: httpx.AsyncClient, account: Account, *, branch: str = "main"
) -> dict[str, Any]:
    """Trigger a pipeline and wait for its (only) workflow to end; returns its jobs by name."""
    response = await client.post(
        f"{V2}/project/{SLUG}/pipeline", headers=account.headers, json={"branch": branch}
    )
    assert response.status_code == 201, response.text
    workflows = await wait_for(
        client,
        f"{V2}/pipeline/{response.json()['id']}/workflow",
        account.headers,
        lambda body: body["items"] and body["items"][0]["status"] not in ("running", "failing", "on_hold"),
        timeout_s=60.0,
    )
    workflow = workflows["items"][0]
    jobs = (await client.get(f"{V2}/workflow/{workflow['id']}/job", headers=account.headers)).json()["items"]
    return {"workflow": workflow, **{job["name"]: job for job in jobs}}


async def job_log(client: httpx.AsyncClient, account: Account, number: int) -> str:
    """Every step's output of a job, each step headed by its name."""
    build = (await client.get(f"/api/v1.1/project/{SLUG}/{number}", headers=account.headers)).json()
    parts = []
    for step in build["steps"]:
        for action in step["actions"]:
            messages = (await client.get(action["output_url"], headers=account.headers)).json()
            parts.append(
                f"== {step['name']} [{action['status']}]\n" + "".join(m["message"] for m in messages)
            )
    return "\n".join(parts)
