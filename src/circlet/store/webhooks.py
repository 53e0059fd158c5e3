"""Outbound webhook rows and their outbox of deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import NotFound
from circlet.model.hooks import Delivery, DeliveryStatus, Webhook, WebhookEvent
from circlet.store.rawsql import columns_of, driver
from circlet.store.tables_hooks import WebhookDeliveryRow, WebhookRow
from circlet.types import ProjectId


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        scope_type=row.scope_type,
        scope_id=ProjectId(row.scope_id),
        name=row.name,
        url=row.url,
        verify_tls=row.verify_tls,
        signing_secret_sealed=row.signing_secret_sealed,
        signing_secret_masked=row.signing_secret_masked,
        events=tuple(WebhookEvent(e) for e in row.events),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_type=WebhookEvent(row.event_type),
        payload=row.payload,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


async def create_webhook(
    tx: AsyncSession,
    *,
    project_id: ProjectId,
    name: str,
    url: str,
    verify_tls: bool,
    signing_secret_sealed: str,
    signing_secret_masked: str,
    events: Sequence[WebhookEvent],
    now: datetime,
) -> Webhook:
    row = WebhookRow(
        id=str(uuid.uuid4()),
        scope_type="project",
        scope_id=project_id,
        name=name,
        url=url,
        verify_tls=verify_tls,
        signing_secret_sealed=signing_secret_sealed,
        signing_secret_masked=signing_secret_masked,
        events=[e.value for e in events],
        created_at=now,
        updated_at=now,
    )
    tx.add(row)
    await tx.flush()
    return _webhook(row)


async def update_webhook(tx: AsyncSession, webhook_id: str, *, now: datetime, **values: Any) -> Webhook:
    """Set columns (name, url, verify_tls, signing_secret_sealed, signing_secret_masked, events)."""
    if "events" in values:
        values["events"] = [WebhookEvent(e).value for e in values["events"]]
    await tx.execute(update(WebhookRow).where(WebhookRow.id == webhook_id).values(updated_at=now, **values))
    return await get_webhook(tx, webhook_id)


async def delete_webhook(tx: AsyncSession, webhook_id: str) -> None:
    await tx.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id))


async def get_webhook(tx: AsyncSession, webhook_id: str) -> Webhook:
    row = await tx.get(WebhookRow, webhook_id, populate_existing=True)
    if row is None:
        raise NotFound("Webhook not found.")
    return _webhook(row)


_RAW = columns_of(WebhookRow)


async def list_webhooks(tx: AsyncSession, project_id: ProjectId) -> list[Webhook]:
    """A project's webhooks (read on every job's finish: straight to the driver)."""
    db = await driver(tx)
    rows = await db.fetch(
        f"SELECT {_RAW.sql} FROM webhooks WHERE scope_id = ? ORDER BY created_at, id", project_id
    )
    return [_webhook(_RAW.read(r)) for r in rows]


async def subscribed_webhooks(tx: AsyncSession, project_id: ProjectId, event: WebhookEvent) -> list[Webhook]:
    return [w for w in await list_webhooks(tx, project_id) if event in w.events]


async def enqueue_delivery(
    tx: AsyncSession,
    *,
    delivery_id: str,
    webhook_id: str,
    event_type: WebhookEvent,
    payload: Mapping[str, Any],
    now: datetime,
) -> None:
    """Add an event to the outbox; a second enqueue of the same ``delivery_id`` does nothing."""
    insert = pg_insert if tx.get_bind().dialect.name == "postgresql" else sqlite_insert
    await tx.execute(
        insert(WebhookDeliveryRow)
        .values(
            id=delivery_id,
            webhook_id=webhook_id,
            event_type=event_type.value,
            payload=dict(payload),
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


async def lease_due(tx: AsyncSession, now: datetime, *, until: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` deliveries due at ``now`` for one attempt each, in one statement.

    The lease counts the attempt and moves ``next_attempt_at`` to ``until``, so a sender that dies
    mid-attempt is retried then, by any server. Concurrent senders never take the same row: PostgreSQL
    skips rows another sender has locked and re-checks the due time; SQLite serializes writers.
    """
    due = (
        select(WebhookDeliveryRow.id)
        .where(
            WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
            WebhookDeliveryRow.next_attempt_at <= now,
        )
        .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
        .limit(limit)
    )
    if tx.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = await tx.scalars(
        update(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.id.in_(due.scalar_subquery()),
            WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
            WebhookDeliveryRow.next_attempt_at <= now,
        )
        .values(attempts=WebhookDeliveryRow.attempts + 1, next_attempt_at=until)
        .returning(WebhookDeliveryRow)
        .execution_options(populate_existing=True)
    )
    return sorted((_delivery(r) for r in rows), key=lambda d: (d.created_at, d.id))


async def finish_attempt(
    tx: AsyncSession,
    delivery_id: str,
    *,
    attempt: int,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    next_attempt_at: datetime | None,
    now: datetime,
) -> None:
    """Record the outcome of attempt number ``attempt`` (ignored if another attempt has started)."""
    values: dict[str, Any] = {"status": status.value, "last_status_code": status_code, "last_error": error}
    if status is DeliveryStatus.DELIVERED:
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    await tx.execute(
        update(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.id == delivery_id,
            WebhookDeliveryRow.attempts == attempt,
            WebhookDeliveryRow.status == DeliveryStatus.PENDING.value,
        )
        .values(**values)
    )


async def get_delivery(tx: AsyncSession, delivery_id: str) -> Delivery:
    row = await tx.get(WebhookDeliveryRow, delivery_id, populate_existing=True)
    if row is None:
        raise NotFound("Delivery not found.")
    return _delivery(row)


async def list_deliveries(tx: AsyncSession, webhook_id: str) -> list[Delivery]:
    rows = await tx.scalars(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.webhook_id == webhook_id)
        .order_by(WebhookDeliveryRow.created_at, WebhookDeliveryRow.id)
    )
    return [_delivery(r) for r in rows]


async def prune_deliveries(tx: AsyncSession, before: datetime) -> int:
    """Delete delivered and failed rows created before ``before``; pending rows are kept."""
    result = await tx.execute(
        delete(WebhookDeliveryRow).where(
            WebhookDeliveryRow.status != DeliveryStatus.PENDING.value, WebhookDeliveryRow.created_at < before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
