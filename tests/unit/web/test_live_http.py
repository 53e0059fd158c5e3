"""Live parts over server-sent events, against the real app: they send a part again when its state
changes, end when the thing is finished, and hold no database connection while they wait."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from circlet.engine import accounts
from circlet.store.accounts import hash_token
from circlet.store.db import Store
from circlet.store.tables import TokenRow
from circlet.web import live
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.unit.web.test_auth_http import sign_in

CONFIG = """
version: 2.1
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: sleep 30}]}
  test: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
workflows:
  main: {jobs: [build, {test: {requires: [build]}}]}
"""
STREAM_TIMEOUT_S = 20.0


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
        yield c


def parse(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs of an event stream (comments and the retry line left out)."""
    found = []
    for block in body.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        event = next((line[7:] for line in lines if line.startswith("event: ")), None)
        if event is not None:
            found.append((event, "\n".join(line[6:] for line in lines if line.startswith("data: "))))
    return found


async def _running_pipeline(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> tuple[str, dict[str, Any]]:
    alice = await make_user("alice", org="gh/acme")
    await make_project(make_repo(CONFIG), "gh/acme/app")
    await sign_in(client, alice.token)
    api = {"Circle-Token": alice.token}
    pipeline = (
        await client.post("/api/v2/project/gh/acme/app/pipeline", json={"branch": "main"}, headers=api)
    ).json()
    workflow = (await client.get(f"/api/v2/pipeline/{pipeline['id']}/workflow", headers=api)).json()["items"][
        0
    ]
    return alice.token, workflow


async def _cancel_soon(client: httpx.AsyncClient, token: str, workflow_id: str, delay_s: float) -> float:
    """Cancel the workflow after ``delay_s``; returns how long an API call took meanwhile."""
    await asyncio.sleep(delay_s)
    started = asyncio.get_running_loop().time()
    me = await client.get("/api/v2/me", headers={"Circle-Token": token})  # the stream holds no connection
    took = asyncio.get_running_loop().time() - started
    assert me.status_code == 200
    response = await client.post(f"/api/v2/workflow/{workflow_id}/cancel", headers={"Circle-Token": token})
    assert response.status_code == 202
    return took


async def _stream_while_canceling(
    client: httpx.AsyncClient, url: str, token: str, workflow_id: str
) -> tuple[httpx.Response, float]:
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        response, took = await asyncio.gather(
            client.get(url), _cancel_soon(client, token, workflow_id, delay_s=1.5)
        )
    return response, took


async def test_the_workflow_graph_follows_its_statuses_and_the_stream_ends_with_it(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    page = await client.get(f"/pipelines/gh/acme/app/1/workflows/{workflow['id']}")
    stream_url = f"/pipelines/gh/acme/app/1/workflows/{workflow['id']}/live"
    assert f'data-stream="{stream_url}"' in page.text
    response, took = await _stream_while_canceling(client, stream_url, token, workflow["id"])
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse(response.text)
    assert [e for e, _ in events] == ["swap", "swap", "end"]  # as it was, once canceled, then the end
    first, last = events[0][1], events[1][1]
    assert first.startswith('<div id="workflow-live" data-status="running"')
    assert 'data-job="build" data-status="queued"' in first
    assert last.startswith('<div id="workflow-live" data-status="canceled"')
    assert 'data-job="build" data-status="canceled"' in last
    assert took < 1.0  # the stream waited without the (single SQLite) connection
    finished = await client.get(f"/pipelines/gh/acme/app/1/workflows/{workflow['id']}")
    assert "data-stream=" not in finished.text  # a finished workflow's page opens no stream


async def test_the_pipeline_rows_follow_their_workflows(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    page = await client.get("/pipelines/gh/acme/app")
    assert 'data-stream="/pipelines/gh/acme/app/live?"' in page.text
    response, _ = await _stream_while_canceling(client, "/pipelines/gh/acme/app/live", token, workflow["id"])
    events = parse(response.text)
    assert [e for e, _ in events] == ["swap", "swap", "end"]
    assert events[0][1].startswith('<div id="pipeline-rows">') and "Running" in events[0][1]
    assert "Canceled" in events[1][1] and "Running" not in events[1][1]


async def test_the_pipeline_page_follows_its_workflows(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    assert (
        'data-stream="/pipelines/gh/acme/app/1/live"' in (await client.get("/pipelines/gh/acme/app/1")).text
    )
    response, _ = await _stream_while_canceling(
        client, "/pipelines/gh/acme/app/1/live", token, workflow["id"]
    )
    events = parse(response.text)
    assert [e for e, _ in events] == ["swap", "swap", "end"]
    assert events[1][1].startswith('<div id="pipeline-workflows">') and "Canceled" in events[1][1]


async def test_the_job_progress_stream_ends_when_the_job_does(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    jobs = (
        await client.get(f"/api/v2/workflow/{workflow['id']}/job", headers={"Circle-Token": token})
    ).json()
    number = next(j["job_number"] for j in jobs["items"] if j["name"] == "build")
    response, _ = await _stream_while_canceling(
        client, f"/jobs/gh/acme/app/{number}/progress/stream", token, workflow["id"]
    )
    events = parse(response.text)
    assert [e for e, _ in events] == ["progress", "progress", "end"]
    before, after = json.loads(events[0][1]), json.loads(events[1][1])
    assert before["status"] == "queued" and before["active"] is True
    assert after["status"] == "canceled" and after["active"] is False
    assert "Canceled" in after["head"]


async def test_streams_need_a_session_and_access(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    _, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    stranger = httpx.AsyncClient(transport=client._transport, base_url="http://127.0.0.1:8080")
    async with stranger:
        response = await stranger.get("/pipelines/gh/acme/app/live")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        mallory = await make_user("mallory", org="gh/other")
        await sign_in(stranger, mallory.token)
        for url in (
            "/pipelines/gh/acme/app/live",
            f"/pipelines/gh/acme/app/1/workflows/{workflow['id']}/live",
        ):
            assert (await stranger.get(url)).status_code == 404


async def _revoke(store: Store, token: str, *, after_s: float) -> None:
    await asyncio.sleep(after_s)
    async with store.transaction() as tx:
        await tx.execute(delete(TokenRow).where(TokenRow.token_hash == hash_token(token)))


async def test_a_stream_ends_instead_of_sending_a_change_once_its_token_is_revoked(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    token, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    async with store.transaction() as tx:
        other = await accounts.create_token(tx, "alice")  # alice's second token outlives the session's

    async def revoke_then_cancel() -> None:
        await _revoke(store, token, after_s=1.5)
        cancel = await client.post(
            f"/api/v2/workflow/{workflow['id']}/cancel", headers={"Circle-Token": other}
        )
        assert cancel.status_code == 202

    async with asyncio.timeout(STREAM_TIMEOUT_S):
        response, _ = await asyncio.gather(client.get("/pipelines/gh/acme/app/live"), revoke_then_cancel())
    events = parse(response.text)
    assert [e for e, _ in events] == ["swap", "end"]
    assert "Running" in events[0][1] and events[1][1] == live.SIGNED_OUT
    assert "Canceled" not in response.text  # the change after the revocation was not sent


async def test_a_stream_with_nothing_changing_still_ends_when_its_token_is_revoked(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "SESSION_RECHECK_S", 0.5)  # instead of every 30 s
    token, workflow = await _running_pipeline(client, make_user, make_repo, make_project)
    jobs = (
        await client.get(f"/api/v2/workflow/{workflow['id']}/job", headers={"Circle-Token": token})
    ).json()
    number = next(j["job_number"] for j in jobs["items"] if j["name"] == "build")
    async with asyncio.timeout(STREAM_TIMEOUT_S):  # the job stays queued: only the check ends it
        response, _ = await asyncio.gather(
            client.get(f"/jobs/gh/acme/app/{number}/progress/stream"), _revoke(store, token, after_s=1.5)
        )
    events = parse(response.text)
    assert [e for e, _ in events] == ["progress", "end"]
    assert json.loads(events[0][1])["status"] == "queued" and events[1][1] == live.SIGNED_OUT
