"""Background loops started by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from circlet.engine.runs import reap_stale_tasks
from circlet.errors import CIError
from circlet.store.db import Store

log = logging.getLogger(__name__)


async def run_reaper(store: Store, *, interval_s: float, stop: asyncio.Event) -> None:
    """Fail the tasks of runners that stopped heartbeating, every ``interval_s``."""
    while not stop.is_set():
        try:
            async with store.transaction() as tx:
                await reap_stale_tasks(tx)
        except CIError as exc:
            log.warning("reaper pass failed: %s", exc, extra={"action": "reaper_failed"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
