"""Background loops for schedules (fire due pipelines) and webhooks (send the outbox).

Each pass takes ``now`` from an injected clock, so tests drive passes at simulated times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from circlet.engine import deliveries, schedules
from circlet.errors import CIError
from circlet.model.hooks import DeliveryStatus
from circlet.model.pipelines import Pipeline
from circlet.store._types import utcnow
from circlet.store.db import Store

log = logging.getLogger(__name__)

SCHEDULE_INTERVAL_S = 5.0  #: seconds between schedule passes
HOUSEKEEPING_INTERVAL = timedelta(hours=1)  #: how often old claims and deliveries are pruned
DELIVERY_INTERVAL_S = 1.0  #: seconds between outbox passes

Clock = Callable[[], datetime]


@dataclass
class ScheduleFirer:
    """Fires due schedules; remembers what this process already handled to skip needless claims."""

    store: Store
    mirrors_dir: Path
    grace_s: float = schedules.GRACE_S
    _handled: set[tuple[str, datetime]] = field(default_factory=set)
    _pruned_at: datetime | None = None

    async def run_once(self, now: datetime) -> list[Pipeline]:
        if self._pruned_at is None or now - self._pruned_at >= HOUSEKEEPING_INTERVAL:
            async with self.store.transaction() as tx:
                await schedules.prune_firings(tx, now=now)
                await deliveries.prune(tx, now=now)
            self._pruned_at = now
        async with self.store.transaction() as tx:
            due = await schedules.due_schedules(tx, now, grace_s=self.grace_s)
        fired = []
        for schedule_id, when in due:
            if (schedule_id, when) in self._handled:
                continue
            try:
                async with self.store.transaction() as tx:
                    pipeline = await schedules.fire_schedule(
                        tx, schedule_id, now=now, mirrors_dir=self.mirrors_dir, grace_s=self.grace_s
                    )
            except CIError as exc:
                log.warning("schedule pass failed: %s", exc, extra={"action": "schedule_pass_failed"})
                continue
            self._handled.add((schedule_id, when))
            if pipeline is not None:
                fired.append(pipeline)
        oldest = now - timedelta(seconds=self.grace_s)
        self._handled = {(s, d) for s, d in self._handled if d >= oldest}
        return fired


@dataclass
class WebhookSender:
    """Sends due outbox rows; one pooled client per TLS-verification setting."""

    store: Store
    base_url: str
    verified: httpx.AsyncClient
    unverified: httpx.AsyncClient

    @classmethod
    def create(cls, store: Store, base_url: str) -> WebhookSender:
        timeout = httpx.Timeout(deliveries.DELIVERY_TIMEOUT_S)
        return cls(
            store=store,
            base_url=base_url,
            verified=httpx.AsyncClient(timeout=timeout, verify=True),
            unverified=httpx.AsyncClient(timeout=timeout, verify=False),
        )

    async def run_once(self, now: Clock) -> list[DeliveryStatus]:
        async with self.store.transaction() as tx:
            batch = await deliveries.lease_due(tx, now=now(), base_url=self.base_url)
        if not batch:
            return []
        outcomes = await asyncio.gather(
            *(deliveries.send(self.verified if o.verify_tls else self.unverified, o) for o in batch)
        )
        async with self.store.transaction() as tx:
            return [
                await deliveries.record(tx, o, r, now=now()) for o, r in zip(batch, outcomes, strict=True)
            ]

    async def close(self) -> None:
        await self.verified.aclose()
        await self.unverified.aclose()


async def run_schedules(
    store: Store,
    *,
    mirrors_dir: Path,
    stop: asyncio.Event,
    interval_s: float = SCHEDULE_INTERVAL_S,
    clock: Clock = utcnow,
) -> None:
    """Fire due schedules every ``interval_s`` until ``stop``."""
    firer = ScheduleFirer(store=store, mirrors_dir=mirrors_dir)
    await _repeat(lambda: firer.run_once(clock()), stop=stop, interval_s=interval_s, name="schedule")


async def run_webhook_delivery(
    store: Store,
    *,
    base_url: str,
    stop: asyncio.Event,
    interval_s: float = DELIVERY_INTERVAL_S,
    clock: Clock = utcnow,
) -> None:
    """Send the webhook outbox every ``interval_s`` until ``stop``."""
    sender = WebhookSender.create(store, base_url)
    try:
        await _repeat(lambda: sender.run_once(clock), stop=stop, interval_s=interval_s, name="webhook")
    finally:
        await sender.close()


async def _repeat(work: Callable[[], object], *, stop: asyncio.Event, interval_s: float, name: str) -> None:
    while not stop.is_set():
        try:
            result = work()
            if asyncio.iscoroutine(result):
                await result
        except CIError as exc:
            log.warning("%s pass failed: %s", name, exc, extra={"action": f"{name}_pass_failed"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


def start(store: Store, *, mirrors_dir: Path, base_url: str, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """Start both loops; they end when ``stop`` is set."""
    return [
        asyncio.create_task(run_schedules(store, mirrors_dir=mirrors_dir, stop=stop)),
        asyncio.create_task(run_webhook_delivery(store, base_url=base_url, stop=stop)),
    ]
