"""Trigger a pipeline and wait for its workflows and jobs over API v2."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account, wait_for

V2 = "/api/v2"
RUNNING = ("running", "failing", "on_hold", "not_run")


async def trigger(
    client: httpx.AsyncClient, account: Account, slug: str = "gh/acme/app", **body: Any
) -> dict[str, Any]:
    response = await client.post(f"{V2}/project/{slug}/pipeline", headers=account.headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def finished_workflows(
    client: httpx.AsyncClient, account: Account, pipeline_id: str, timeout_s: float = 30.0
) -> list[dict[str, Any]]:
    body = await wait_for(
        client,
        f"{V2}/pipeline/{pipeline_id}/workflow",
        account.headers,
        lambda b: bool(b["items"]) and all(w["status"] not in ("running", "failing") for w in b["items"]),
        timeout_s=timeout_s,
    )
    items: list[dict[str, Any]] = body["items"]
    return items


async def workflow_jobs(
    client: httpx.AsyncClient, account: Account, workflow_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{V2}/workflow/{workflow_id}/job", headers=account.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def first_job_number(client: httpx.AsyncClient, account: Account, pipeline_id: str) -> int:
    """The number of the pipeline's first job, once it has one."""
    body = await wait_for(
        client, f"{V2}/pipeline/{pipeline_id}/workflow", account.headers, lambda b: bool(b["items"])
    )
    jobs = await wait_for(
        client,
        f"{V2}/workflow/{body['items'][0]['id']}/job",
        account.headers,
        lambda b: any(j.get("job_number") for j in b["items"]),
    )
    return int(next(j["job_number"] for j in jobs["items"] if j.get("job_number")))
