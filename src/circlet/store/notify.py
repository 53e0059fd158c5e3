"""Wake-ups for runners waiting on the job queue.

Inside one process a ``QueueWaker`` holds an ``asyncio.Event`` per resource class. Writers call
``notify_queue(tx, resource_class)``: the wake-up fires after the transaction commits. On PostgreSQL the
same call issues ``pg_notify`` inside the transaction (delivered at commit), and every API server runs a
``LISTEN`` connection that wakes its local waiters, so a job queued on one server wakes claims on all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "circlet_queue"
ANY_CLASS = "*"
RELISTEN_DELAY_S = 2.0  # seconds

log = logging.getLogger(__name__)


class QueueWaker:
    """Per-resource-class events; ``event(rc)`` before a claim, ``wait`` after it found nothing."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self.stopped = False  #: the server is shutting down: claimers answer "no work" at once

    def stop(self) -> None:
        """Wake every claimer for good (the server is shutting down and waits for open requests)."""
        self.stopped = True
        self.wake(ANY_CLASS)

    def event(self, resource_class: str) -> asyncio.Event:
        return self._events.setdefault(resource_class, asyncio.Event())

    def wake(self, resource_class: str) -> None:
        if resource_class == ANY_CLASS:
            targets = list(self._events)
        else:  # a class without a namespace is also served by the built-in runners (``*``)
            targets = [resource_class] if "/" in resource_class else [resource_class, ANY_CLASS]
        for rc in targets:
            event = self._events.pop(rc, None)
            if event is not None:
                event.set()


async def notify_queue(tx: AsyncSession, resource_class: str) -> None:
    """Wake claimers of ``resource_class`` once ``tx`` commits."""
    pending: set[str] = tx.info.setdefault("wake", set())
    if resource_class in pending:
        return
    pending.add(resource_class)
    if tx.get_bind().dialect.name == "postgresql":
        await tx.execute(text("SELECT pg_notify(:channel, :rc)"), {"channel": CHANNEL, "rc": resource_class})


async def listen_postgres(dsn: str, waker: QueueWaker, stop: asyncio.Event) -> None:
    """Hold a LISTEN connection and forward notifications to ``waker`` until ``stop`` is set."""
    import asyncpg

    def _forward(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        waker.wake(payload)

    while not stop.is_set():
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN connection failed: %s", exc, extra={"action": "listen_failed"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RELISTEN_DELAY_S)
            continue
        try:
            await conn.add_listener(CHANNEL, _forward)
            waker.wake(ANY_CLASS)  # anything queued while we were not listening
            closed = asyncio.Event()
            conn.add_termination_listener(_on_close(closed))
            _, pending = await asyncio.wait(
                [asyncio.create_task(stop.wait()), asyncio.create_task(closed.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()
        finally:
            with contextlib.suppress(Exception):
                await conn.close()


def _on_close(closed: asyncio.Event) -> Any:
    return lambda _conn: closed.set()
