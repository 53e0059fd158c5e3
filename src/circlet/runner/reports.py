"""A task's step starts and finishes on their way to the server.

A server that lists :data:`~circlet.protocol.FEATURE_TASK_REPORT` receives them in batches: an event
waits at most ``delay_s`` (0.2 s) before it is sent, output of a step is never uploaded before the
events queued ahead of it, and whatever is still queued when the task ends travels with the task's
finish (:meth:`StepReports.take`). A step that ends within the delay therefore costs no request of
its own. Other servers get each event at once through the per-step calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from circlet.protocol import StepFinish, StepReport, StepStart, TaskReport
from circlet.runner.client import Lease, LeaseLost, RunnerClient

logger = logging.getLogger(__name__)

REPORT_DELAY_S = 0.2  # seconds a step event may wait for others before it is sent


class StepReports:
    """The step events of one task.

    Args:
        client: the runner client.
        lease: the task's lease.
        batched: the server takes batched reports (otherwise every event is one call, sent at once).
        on_lease_lost: called when a delayed send finds the lease gone.
        on_cancel: called when a delayed send learns that the job was canceled.
        delay_s: how long an event may wait.
    """

    def __init__(
        self,
        client: RunnerClient,
        lease: Lease,
        *,
        batched: bool,
        on_lease_lost: Callable[[], None],
        on_cancel: Callable[[], None],
        delay_s: float = REPORT_DELAY_S,
    ) -> None:
        self._client = client
        self._lease = lease
        self._batched = batched
        self._on_lease_lost = on_lease_lost
        self._on_cancel = on_cancel
        self._delay_s = delay_s
        self._pending: list[StepReport] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    @property
    def batched(self) -> bool:
        return self._batched

    async def start(self, index: int, body: StepStart) -> None:
        if not self._batched:
            await self._client.start_step(self._lease, index, body)
            return
        self._pending.append(StepReport(index=index, start=body))
        self._arm()

    async def finish(self, index: int, body: StepFinish) -> None:
        if not self._batched:
            await self._client.finish_step(self._lease, index, body)
            return
        for report in self._pending:
            if report["index"] == index and "finish" not in report:
                report["finish"] = body  # a quick step: its start and finish travel together
                break
        else:
            self._pending.append(StepReport(index=index, finish=body))
        self._arm()

    async def upload_output(self, index: int, offset: int, data: bytes | Sequence[bytes]) -> None:
        """Upload a chunk of step ``index``'s output once the events queued before it are sent."""
        await self.flush()
        await self._client.upload_output(self._lease, index, offset, data)

    async def flush(self) -> None:
        """Send the queued events now (in one request). Failed events stay queued, in order."""
        async with self._lock:
            self._stop_timer()
            pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                response = await self._client.report(self._lease, TaskReport(steps=pending))
            except BaseException:
                self._pending[:0] = pending
                raise
        if response.get("cancel"):
            self._on_cancel()

    async def take(self) -> list[StepReport]:
        """The events still queued, for the task's finish; nothing is sent after this."""
        async with self._lock:
            self._stop_timer()
            pending, self._pending = self._pending, []
        return pending

    async def aclose(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._delay_s)
        self._timer = None
        try:
            await self.flush()
        except LeaseLost:
            self._on_lease_lost()
        except Exception as exc:  # kept queued: sent with the next flush or the task's finish
            logger.warning("step report failed: %s", exc, extra={"action": "step_report_failed"})
