"""Live step output: readers follow a step's log file as it grows.

Writers wake readers in the same process: :class:`LiveLogs` (the log store the runner routes write
through) wakes the readers of a job on every append, and the runner routes call
:func:`wake_after_commit` when a step or task ends, so a reader sees the new status once it is
committed. A reader also re-reads the step's status every ``status_poll_s`` (a step ended by the
lease reaper, or an append served by another API server), and yields ``None`` as a keep-alive
after ``keepalive_s`` of silence.

The cap on a step's output (``cap_bytes``) ends the stored log with :func:`truncation_notice`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.errors import NotFound
from circlet.model.accounts import User
from circlet.model.pipelines import Step, Task
from circlet.model.statuses import StepStatus
from circlet.store import steps as step_store
from circlet.store.db import Store, after_commit
from circlet.store.logs import AHEAD_WAIT_S, LogStore

READ_BYTES = 256 * 1024  # bytes read (and sent) at most per event
SIZE_RECORD_EVERY_S = 1.0  # seconds between size records of one running step (its finish records the last)
SIZE_RECORDS_KEPT = 4096  # steps remembered before old entries are dropped
LEASE_TRUST_S = 1.0  # seconds a lease found valid for an output upload is trusted before it is read again
LEASES_KEPT = 4096  # leases remembered before old entries are dropped
KEEPALIVE_S = 15.0  # seconds of silence before a keep-alive
STATUS_POLL_S = 2.0  # seconds between status reads when nothing woke the reader
_UTF8_CONTINUATION, _UTF8_LEAD_2, _UTF8_LEAD_3, _UTF8_LEAD_4 = 0x80, 0xC0, 0xE0, 0xF0


def truncation_notice(cap_bytes: int) -> bytes:
    return (
        f"\n[circlet] output truncated: this step printed more than {cap_bytes} bytes "
        "(the server's CIRCLET_LOG_CAP_BYTES); the rest was discarded.\n"
    ).encode()


class OutputWatch:
    """In-process wake-ups for readers, keyed by job id (appends) or task id (step/task ends)."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watching(self, key: str) -> Iterator[asyncio.Event]:
        """An event set by every ``wake(key)`` while the block runs."""
        woken = asyncio.Event()
        self._waiters.setdefault(key, set()).add(woken)
        try:
            yield woken
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiters[key]

    def wake(self, key: str) -> None:
        for woken in self._waiters.get(key, ()):
            woken.set()


class SizeRecords:
    """When a running step's output size is next written to the database: on its first upload, when
    the cap truncates it, and then at most every ``interval_s``. A step printing fast costs one
    commit a second instead of one per upload; the step's finish records the final size."""

    def __init__(self, interval_s: float = SIZE_RECORD_EVERY_S) -> None:
        self._interval_s = interval_s
        self._last: dict[tuple[str, int], float] = {}

    def due(self, task_id: str, step_index: int, *, truncated: bool) -> bool:
        now, key = time.monotonic(), (task_id, step_index)
        last = self._last.get(key)
        if not truncated and last is not None and now - last < self._interval_s:
            return False
        if len(self._last) >= SIZE_RECORDS_KEPT:
            self._last = {k: t for k, t in self._last.items() if now - t < self._interval_s}
        self._last[key] = now
        return True


class OutputLeases:
    """The task an output upload belongs to, by (runner token, task id, lease id). A lease found
    valid is trusted for ``trust_s``: a runner uploading a fast step's output in many requests costs
    one lease read a second, not one transaction per request. A lease lost meanwhile (reaped,
    finished) still takes output for at most ``trust_s``, into the log file its job already has."""

    def __init__(self, trust_s: float = LEASE_TRUST_S) -> None:
        self._trust_s = trust_s
        self._found: dict[tuple[str, str, str], tuple[float, Task]] = {}

    def get(self, token: str, task_id: str, lease_id: str) -> Task | None:
        found = self._found.get((token, task_id, lease_id))
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def put(self, token: str, lease_id: str, task: Task) -> None:
        now = time.monotonic()
        if len(self._found) >= LEASES_KEPT:
            self._found = {k: v for k, v in self._found.items() if v[0] > now}
        self._found[(token, task.id, lease_id)] = (now + self._trust_s, task)


def wake_after_commit(tx: AsyncSession, watch: OutputWatch, key: str) -> None:
    """Wake the readers of ``key`` once ``tx`` commits (never when it rolls back)."""
    after_commit(tx, functools.partial(watch.wake, key))


class LiveLogs(LogStore):
    """The log store, plus wake-ups on append and the truncation notice at the cap."""

    def __init__(self, root: Path, watch: OutputWatch, *, ahead_wait_s: float = AHEAD_WAIT_S) -> None:
        super().__init__(root, ahead_wait_s=ahead_wait_s)
        self.watch = watch

    async def append(
        self,
        job_id: str,
        node_index: int,
        step_index: int,
        *,
        offset: int,
        data: bytes,
        cap_bytes: int = 0,
        in_thread: bool = False,
    ) -> tuple[int, bool]:
        size, truncated = await super().append(
            job_id, node_index, step_index, offset=offset, data=data, cap_bytes=cap_bytes, in_thread=in_thread
        )
        size = await self._notice(job_id, node_index, step_index, size, truncated, cap_bytes)
        self.watch.wake(job_id)
        return size, truncated

    async def receive(
        self,
        job_id: str,
        node_index: int,
        step_index: int,
        *,
        offset: int,
        chunks: AsyncIterator[bytes],
        cap_bytes: int = 0,
        on_write: Callable[[], None] | None = None,
    ) -> tuple[int, bool]:
        def _written() -> None:
            self.watch.wake(job_id)  # readers see a long body while it streams in
            if on_write is not None:
                on_write()

        size, truncated = await super().receive(
            job_id,
            node_index,
            step_index,
            offset=offset,
            chunks=chunks,
            cap_bytes=cap_bytes,
            on_write=_written,
        )
        size = await self._notice(job_id, node_index, step_index, size, truncated, cap_bytes)
        self.watch.wake(job_id)
        return size, truncated

    def growth(self, job_id: str) -> contextlib.AbstractContextManager[asyncio.Event | None]:
        return self.watch.watching(job_id)

    async def _notice(
        self, job_id: str, node_index: int, step_index: int, size: int, truncated: bool, cap_bytes: int
    ) -> int:
        if truncated and size == cap_bytes:  # the first write past the cap: say so, once
            size, _ = await super().append(
                job_id, node_index, step_index, offset=size, data=truncation_notice(cap_bytes)
            )
        return size


@dataclass(frozen=True, slots=True)
class OutputChunk:
    offset: int  #: byte offset of ``text`` in the log
    end: int  #: byte offset after it (resume from here)
    text: str


@dataclass(frozen=True, slots=True)
class OutputEnd:
    status: str
    exit_code: int | None
    size: int
    truncated: bool


LiveEvent = OutputChunk | OutputEnd | None  #: None is a keep-alive


async def step_for_reader(
    tx: AsyncSession, user: User, slug: str, job_number: int, step_index: int, node_index: int
) -> Step:
    """The step a reader may follow; NotFound until the runner started it."""
    _, job = await access.job_by_number(tx, user, slug, job_number)
    step = await step_store.get_step(tx, job.id, node_index, step_index)
    if step is None:
        raise NotFound("Step not found (it has not started yet, or does not exist).")
    return step


async def follow(
    store: Store,
    logs: LogStore,
    watch: OutputWatch,
    step: Step,
    *,
    offset: int = 0,
    follow: bool = True,
    keepalive_s: float = KEEPALIVE_S,
    status_poll_s: float = STATUS_POLL_S,
) -> AsyncIterator[LiveEvent]:
    """The output of ``step`` from ``offset``, then what is appended, until the step has ended and
    everything was sent (or, unless ``follow``, until the output so far was sent). Holds no
    transaction between reads."""
    loop = asyncio.get_running_loop()
    with watch.watching(step.job_id) as appended, watch.watching(step.task_id) as changed:
        current = step
        last_sent = last_status = loop.time()
        while True:
            appended.clear()
            ended = current.status is not StepStatus.RUNNING
            data = await logs.read(
                step.job_id, step.node_index, step.step_index, offset=offset, limit=READ_BYTES
            )
            keep = len(data) if ended and len(data) < READ_BYTES else _whole_utf8(data)
            if keep:
                text = data[:keep].decode("utf-8", errors="replace")
                yield OutputChunk(offset, offset + keep, text)
                offset += keep
                last_sent = loop.time()
                continue
            if ended or not follow:
                yield OutputEnd(current.status.value, current.exit_code, offset, current.truncated)
                return
            now = loop.time()
            if changed.is_set() or now - last_status >= status_poll_s:
                changed.clear()
                current = await _reload(store, step)
                last_status = now
                continue
            if now - last_sent >= keepalive_s:
                yield None
                last_sent = now
            wait_s = min(status_poll_s - (now - last_status), keepalive_s - (now - last_sent))
            await _wait_any(appended, changed, max(0.0, wait_s))


async def _reload(store: Store, step: Step) -> Step:
    async with store.transaction() as tx:
        fresh = await step_store.get_step(tx, step.job_id, step.node_index, step.step_index)
    return fresh or step


async def _wait_any(first: asyncio.Event, second: asyncio.Event, timeout_s: float) -> None:
    waits = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()


def _whole_utf8(data: bytes) -> int:
    """How many leading bytes of ``data`` end on a UTF-8 character boundary (a character cut by
    the end of a read waits for the next read)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < _UTF8_CONTINUATION:
            return len(data)
        if byte >= _UTF8_LEAD_2:  # a lead byte: is its sequence complete?
            need = 2 if byte < _UTF8_LEAD_3 else 3 if byte < _UTF8_LEAD_4 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)
