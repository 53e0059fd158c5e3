"""Sending the webhook outbox: lease due rows, POST them signed, record the outcome with backoff.

The three phases run in separate transactions (lease, send with no transaction open, record), so a
slow receiver never holds the database. A sender that dies mid-attempt leaves the row leased until
``LEASE_S`` passes; then any server retries it with the same event id (at-least-once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.secrets import box_for
from circlet.errors import NotFound
from circlet.model.hooks import Delivery, DeliveryStatus, Webhook
from circlet.store import webhooks as webhook_store

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 10.0  #: seconds a receiver has to answer
LEASE_S = 60.0  #: seconds an attempt may take before another sender may retry it
MAX_ATTEMPTS = 10
BACKOFF_BASE_S = 10.0  #: seconds before the 2nd attempt; doubles each time
BACKOFF_MAX_S = 3600.0
BATCH_SIZE = 50
USER_AGENT = "CircleCI-Webhook/1.0"
DELIVERY_HISTORY = timedelta(days=7)  #: delivered and failed rows are kept this long


@dataclass(frozen=True, kw_only=True, slots=True)
class Outgoing:
    """One leased attempt, ready to send."""

    delivery_id: str
    attempt: int  #: 1-based number of this attempt
    url: str
    verify_tls: bool
    event_type: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300  # noqa: PLR2004


def sign(secret: str, body: bytes) -> str:
    """The ``circleci-signature`` header value: ``v1=`` and the hex HMAC-SHA256 of the body."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def render_body(payload: Mapping[str, Any], base_url: str) -> bytes:
    """The exact bytes sent; workflow paths become absolute URLs on this server."""
    document = dict(payload)
    workflow = document.get("workflow")
    if isinstance(workflow, Mapping) and str(workflow.get("url", "")).startswith("/"):
        document["workflow"] = {**workflow, "url": base_url.rstrip("/") + str(workflow["url"])}
    return json.dumps(document, separators=(",", ":")).encode()


def backoff_s(attempt: int, *, base_s: float = BACKOFF_BASE_S) -> float:
    """Delay after failed attempt number ``attempt`` (1-based): base, 2x base, 4x base... capped."""
    return float(min(base_s * 2 ** (attempt - 1), BACKOFF_MAX_S))


async def lease_due(
    tx: AsyncSession, *, now: datetime, base_url: str, limit: int = BATCH_SIZE
) -> list[Outgoing]:
    """Take the deliveries due at ``now`` that no other sender took first, signed and ready to send."""
    hooks: dict[str, Webhook | None] = {}
    leased = []
    for delivery in await webhook_store.lease_due(
        tx, now, until=now + timedelta(seconds=LEASE_S), limit=limit
    ):
        if delivery.webhook_id not in hooks:
            try:
                hooks[delivery.webhook_id] = await webhook_store.get_webhook(tx, delivery.webhook_id)
            except NotFound:
                hooks[delivery.webhook_id] = None
        hook = hooks[delivery.webhook_id]
        if hook is not None:
            leased.append(_outgoing(tx, delivery, hook, base_url))
    return leased


def _outgoing(tx: AsyncSession, delivery: Delivery, hook: Webhook, base_url: str) -> Outgoing:
    body = render_body(delivery.payload, base_url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Circleci-Event-Type": delivery.event_type.value,
    }
    secret = box_for(tx).open(hook.signing_secret_sealed)
    if secret:
        headers["Circleci-Signature"] = sign(secret, body)
    return Outgoing(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        url=hook.url,
        verify_tls=hook.verify_tls,
        event_type=delivery.event_type.value,
        body=body,
        headers=headers,
    )


async def prune(tx: AsyncSession, *, now: datetime) -> int:
    """Forget delivered and failed events older than ``DELIVERY_HISTORY``."""
    return await webhook_store.prune_deliveries(tx, now - DELIVERY_HISTORY)


async def send(client: httpx.AsyncClient, outgoing: Outgoing) -> Outcome:
    """POST one attempt. Never raises for network trouble: that is an outcome too."""
    try:
        response = await client.post(
            outgoing.url, content=outgoing.body, headers=dict(outgoing.headers), timeout=DELIVERY_TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        return Outcome(status_code=None, error=f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:  # noqa: PLR2004
        return Outcome(status_code=response.status_code, error=None)
    return Outcome(status_code=response.status_code, error=f"HTTP {response.status_code}")


async def record(
    tx: AsyncSession, outgoing: Outgoing, outcome: Outcome, *, now: datetime, base_s: float = BACKOFF_BASE_S
) -> DeliveryStatus:
    """Store the outcome: delivered, retried later, or failed after ``MAX_ATTEMPTS``."""
    if outcome.delivered:
        status, retry_at = DeliveryStatus.DELIVERED, None
    elif outgoing.attempt >= MAX_ATTEMPTS:
        status, retry_at = DeliveryStatus.FAILED, None
    else:
        status = DeliveryStatus.PENDING
        retry_at = now + timedelta(seconds=backoff_s(outgoing.attempt, base_s=base_s))
    await webhook_store.finish_attempt(
        tx,
        outgoing.delivery_id,
        attempt=outgoing.attempt,
        status=status,
        status_code=outcome.status_code,
        error=outcome.error,
        next_attempt_at=retry_at,
        now=now,
    )
    log.log(
        logging.INFO if outcome.delivered else logging.WARNING,
        "webhook delivery %s attempt %d: %s",
        outgoing.delivery_id,
        outgoing.attempt,
        outcome.error or outcome.status_code,
        extra={"action": "webhook_" + status.value, "delivery_id": outgoing.delivery_id},
    )
    return status
