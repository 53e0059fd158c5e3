"""Outbound webhooks: CRUD through the real API, signed deliveries to a receiver on 127.0.0.1,
retries after a 500, and an outbox that survives a restart."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, text

from circlet.api.loops_hooks import WebhookSender
from circlet.engine import secrets
from circlet.model.hooks import DeliveryStatus
from circlet.settings import Settings
from circlet.store._types import utcnow
from circlet.store.db import Store
from circlet.store.tables_hooks import WebhookDeliveryRow
from tests.conftest import MakeProject, MakeRepo, MakeUser, wait_for
from tests.integration.hooks.conftest import Receiver

V2 = "/api/v2"
SECRET = "correct horse battery staple"

CONFIG = """\
version: 2.1
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo built
workflows:
  main:
    jobs: [build]
"""


async def _project_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.get(f"{V2}/project/gh/acme/app", headers=headers)
    assert response.status_code == 200
    return str(response.json()["id"])


def webhook_body(project_id: str, url: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "notify",
        "events": ["workflow-completed", "job-completed"],
        "url": url,
        "verify-tls": True,
        "signing-secret": SECRET,
        "scope": {"id": project_id, "type": "project"},
    }
    body.update(overrides)
    return body


def signed(received_body: bytes, header: str) -> bool:
    expected = "v1=" + hmac.new(SECRET.encode(), received_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


async def test_webhook_crud_masks_and_seals_the_secret(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    store: Store,
) -> None:
    account = await make_user()
    outsider = await make_user(org="gh/other")
    await make_project(make_repo(CONFIG))
    project_id = await _project_id(client, account.headers)
    created = await client.post(
        f"{V2}/webhook", headers=account.headers, json=webhook_body(project_id, "https://example.invalid/h")
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["signing-secret"] == "xxxx" + SECRET[-4:]
    assert hook["scope"] == {"id": project_id, "type": "project"}
    assert hook["events"] == ["workflow-completed", "job-completed"]

    listed = await client.get(
        f"{V2}/webhook", headers=account.headers, params={"scope-id": project_id, "scope-type": "project"}
    )
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()["items"]] == [hook["id"]]

    updated = await client.put(
        f"{V2}/webhook/{hook['id']}",
        headers=account.headers,
        json={"name": "renamed", "events": ["job-completed"], "verify-tls": False},
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["events"], updated.json()["verify-tls"]) == (
        "renamed",
        ["job-completed"],
        False,
    )
    assert updated.json()["url"] == "https://example.invalid/h"

    for method in ("GET", "DELETE"):
        response = await client.request(method, f"{V2}/webhook/{hook['id']}", headers=outsider.headers)
        assert response.status_code == 404
    denied = await client.get(
        f"{V2}/webhook", headers=outsider.headers, params={"scope-id": project_id, "scope-type": "project"}
    )
    assert denied.status_code == 404

    async with store.transaction() as tx:
        dump = " ".join(str(v) for row in await tx.execute(text("SELECT * FROM webhooks")) for v in row)
    assert SECRET not in dump

    assert (await client.delete(f"{V2}/webhook/{hook['id']}", headers=account.headers)).status_code == 200
    assert (await client.get(f"{V2}/webhook/{hook['id']}", headers=account.headers)).status_code == 404


async def test_webhook_validation(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    project_id = await _project_id(client, account.headers)
    for body in (
        webhook_body(project_id, "ftp://example.invalid/h"),
        webhook_body(project_id, "not a url"),
        webhook_body(project_id, "https://example.invalid/h", events=[]),
        webhook_body(project_id, "https://example.invalid/h", events=["job-started"]),
        webhook_body(
            project_id, "https://example.invalid/h", scope={"id": project_id, "type": "organization"}
        ),
        {"name": "incomplete"},
    ):
        response = await client.post(f"{V2}/webhook", headers=account.headers, json=body)
        assert response.status_code == 400, (body, response.text)
    missing = await client.post(
        f"{V2}/webhook",
        headers=account.headers,
        json=webhook_body("6a4a3a2f-0000-4000-8000-000000000000", "https://example.invalid/h"),
    )
    assert missing.status_code == 404
    no_scope = await client.get(f"{V2}/webhook", headers=account.headers)
    assert no_scope.status_code == 400


async def test_finished_pipeline_delivers_signed_events(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
    receiver: Receiver,
    settings: Settings,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    project_id = await _project_id(client, account.headers)
    created = await client.post(
        f"{V2}/webhook", headers=account.headers, json=webhook_body(project_id, receiver.url)
    )
    assert created.status_code == 201
    await runner()
    pipeline = (
        await client.post(f"{V2}/project/gh/acme/app/pipeline", headers=account.headers, json={})
    ).json()

    received = await receiver.wait_for(2)  # the app's own delivery loop sends them
    by_type = {r.headers["circleci-event-type"]: r for r in received}
    assert set(by_type) == {"job-completed", "workflow-completed"}
    for item in received:
        assert signed(item.body, item.headers["circleci-signature"])
        assert item.headers["content-type"] == "application/json"
    job_event = by_type["job-completed"].json
    workflow_event = by_type["workflow-completed"].json
    for event in (job_event, workflow_event):
        assert {
            "id",
            "type",
            "happened_at",
            "webhook",
            "project",
            "organization",
            "pipeline",
            "workflow",
        } <= set(event)
        assert event["webhook"] == {"id": created.json()["id"], "name": "notify"}
        assert event["project"] == {"id": project_id, "name": "app", "slug": "github/acme/app"}
        assert event["organization"]["name"] == "acme"
        assert event["pipeline"]["id"] == pipeline["id"]
        assert event["pipeline"]["number"] == pipeline["number"]
        assert event["pipeline"]["vcs"]["branch"] == "main"
        assert event["workflow"]["name"] == "main"
        assert event["workflow"]["url"].startswith(settings.public_url() + "/pipelines/gh/acme/app/")
    assert workflow_event["workflow"]["status"] == "success"
    assert workflow_event["workflow"]["stopped_at"]
    assert job_event["workflow"]["status"] in {"running", "success"}  # as it was when the job ended
    assert job_event["job"]["name"] == "build"
    assert job_event["job"]["status"] == "success"
    assert job_event["job"]["number"] >= 1
    assert "job" not in workflow_event
    assert job_event["id"] != workflow_event["id"]
    assert SECRET not in received[0].body.decode()


async def _enqueue_by_running(
    client: httpx.AsyncClient, headers: dict[str, str], runner: Any, url: str, project_id: str
) -> str:
    response = await client.post(
        f"{V2}/webhook", headers=headers, json=webhook_body(project_id, url, events=["workflow-completed"])
    )
    assert response.status_code == 201
    await runner()
    pipeline = (await client.post(f"{V2}/project/gh/acme/app/pipeline", headers=headers, json={})).json()
    workflows = await wait_for(
        client,
        f"{V2}/pipeline/{pipeline['id']}/workflow",
        headers,
        lambda b: bool(b["items"]) and b["items"][0]["status"] == "success",
    )
    return str(workflows["items"][0]["id"])


async def _deliveries(store: Store) -> list[WebhookDeliveryRow]:
    async with store.transaction() as tx:
        return list(await tx.scalars(select(WebhookDeliveryRow)))


async def _wait_rows(
    store: Store, done: Callable[[list[WebhookDeliveryRow]], bool]
) -> list[WebhookDeliveryRow]:
    """Poll the outbox until ``done`` (the app's own loop records attempts in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    rows = await _deliveries(store)
    while not done(rows):
        assert loop.time() < deadline, [(r.status, r.attempts, r.last_error) for r in rows]
        await asyncio.sleep(0.05)
        rows = await _deliveries(store)
    return rows


async def test_retry_after_500_keeps_the_event_id(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
    receiver: Receiver,
    store: Store,
    settings: Settings,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    receiver.statuses = [500]
    await _enqueue_by_running(
        client, account.headers, runner, receiver.url, await _project_id(client, account.headers)
    )
    first = (await receiver.wait_for(1))[0]
    # the attempt's outcome is recorded just after the receiver answered
    [row] = await _wait_rows(store, lambda rows: bool(rows) and rows[0].last_status_code == 500)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.next_attempt_at > utcnow() + timedelta(seconds=5)  # backs off; the app's loop will wait

    sender = WebhookSender.create(store, settings.public_url())
    try:
        assert await sender.run_once(utcnow) == []  # not due yet
        statuses = await sender.run_once(lambda: utcnow() + timedelta(seconds=11))
    finally:
        await sender.close()
    assert statuses == [DeliveryStatus.DELIVERED]
    second = receiver.received[1]
    assert second.body == first.body
    assert second.json["id"] == first.json["id"]
    assert signed(second.body, second.headers["circleci-signature"])
    [row] = await _deliveries(store)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)


async def test_outbox_survives_a_restart(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
    receiver: Receiver,
    settings: Settings,
    store: Store,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    dead_url = "http://127.0.0.1:9/hook"  # discard port: nothing listens, the connection is refused
    await _enqueue_by_running(
        client, account.headers, runner, dead_url, await _project_id(client, account.headers)
    )
    rows = await _wait_rows(store, lambda rows: bool(rows and rows[0].last_error))
    assert rows[0].status == "pending"
    assert rows[0].last_error

    # A new server process: its own store on the same database, the webhook now pointing at a live receiver.
    restarted = Store.from_url(
        settings.resolved_database_url(), shared={secrets.BOX: secrets.open_box("", settings.data_dir)}
    )
    async with restarted.transaction() as tx:
        await tx.execute(text("UPDATE webhooks SET url = :url"), {"url": receiver.url})
    sender = WebhookSender.create(restarted, settings.public_url())
    try:
        statuses = await sender.run_once(lambda: utcnow() + timedelta(minutes=5))
    finally:
        await sender.close()
        await restarted.close()
    assert statuses == [DeliveryStatus.DELIVERED]
    [got] = receiver.received
    assert got.json["id"] == rows[0].id
    assert got.json["type"] == "workflow-completed"


async def test_two_senders_never_send_an_event_twice(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    receiver: Receiver,
    settings: Settings,
    store: Store,
    second_server_store: Store,
) -> None:
    import uuid

    from circlet.model.hooks import WebhookEvent
    from circlet.store import webhooks as webhook_store

    account = await make_user()
    await make_project(make_repo(CONFIG))
    project_id = await _project_id(client, account.headers)
    hook = (
        await client.post(
            f"{V2}/webhook", headers=account.headers, json=webhook_body(project_id, receiver.url)
        )
    ).json()
    later = utcnow() + timedelta(minutes=1)  # not due for the app's own loop, due for ours
    async with store.transaction() as tx:
        for n in range(60):
            await webhook_store.enqueue_delivery(
                tx,
                delivery_id=str(uuid.uuid4()),
                webhook_id=hook["id"],
                event_type=WebhookEvent.JOB_COMPLETED,
                payload={"n": n},
                now=later,
            )
    senders = [WebhookSender.create(s, settings.public_url()) for s in (store, second_server_store)]
    try:
        for _ in range(3):
            await asyncio.gather(*(s.run_once(lambda: later) for s in senders))
    finally:
        for sender in senders:
            await sender.close()
    numbers = sorted(r.json["n"] for r in receiver.received)
    assert numbers == list(range(60))
    assert {r.status for r in await _deliveries(store)} == {"delivered"}


async def test_verify_tls_is_honoured(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    tls_receiver: Receiver,
    settings: Settings,
    store: Store,
) -> None:
    import uuid

    from circlet.model.hooks import WebhookEvent
    from circlet.store import webhooks as webhook_store

    account = await make_user()
    await make_project(make_repo(CONFIG))
    project_id = await _project_id(client, account.headers)
    later = utcnow() + timedelta(minutes=1)
    ids = {}
    for verify in (True, False):
        body = webhook_body(project_id, tls_receiver.url, name=f"verify={verify}", **{"verify-tls": verify})
        hook = (await client.post(f"{V2}/webhook", headers=account.headers, json=body)).json()
        ids[verify] = str(uuid.uuid4())
        async with store.transaction() as tx:
            await webhook_store.enqueue_delivery(
                tx,
                delivery_id=ids[verify],
                webhook_id=hook["id"],
                event_type=WebhookEvent.JOB_COMPLETED,
                payload={"verify": verify},
                now=later,
            )
    sender = WebhookSender.create(store, settings.public_url())
    try:
        await sender.run_once(lambda: later)
    finally:
        await sender.close()
    rows = {row.id: row for row in await _deliveries(store)}
    assert rows[ids[False]].status == "delivered"
    assert rows[ids[True]].status == "pending"  # the self-signed certificate was refused
    assert (
        "certificate" in (rows[ids[True]].last_error or "").lower()
        or "ssl" in (rows[ids[True]].last_error or "").lower()
    )
    assert [r.json for r in tls_receiver.received] == [{"verify": False}]
