"""SQLite connections whose calls run on the event loop's own thread.

aiosqlite runs every call on a worker thread and hands the result back through the event loop: a
thread switch each way, and a wait for the GIL whenever the loop is busy. A SQLite statement on the
server's small rows takes microseconds (a commit at most one fsync), so the hand-off
cost more than the work: a finished job's transaction made some thirty of them. The server keeps one
SQLite connection, and its transactions already take turns for it, so running each call directly gives
up no concurrency. What it gives up: a long statement (a large Insights read, tens of milliseconds)
holds up the whole server meanwhile rather than only its database work.

A connection must never wait for a lock inside SQLite here: the lock may be held by another connection
served by the same event loop (a second ``Store`` on the file), which could then never finish. So
SQLite's own busy handler is off (``busy_timeout=0``) and a call that finds the database locked is
retried after an asyncio sleep, for up to ``busy_timeout_s``. Retrying is safe: every transaction
begins ``IMMEDIATE``, so a lock is only ever waited for by the ``BEGIN``, which did nothing yet.

The class keeps aiosqlite's interface, which SQLAlchemy's ``sqlite+aiosqlite`` dialect drives, and
replaces the hand-off (aiosqlite's ``_execute``) with a direct call.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY})
_FIRST_RETRY_S = 0.001
_LONGEST_RETRY_S = 0.05


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its worker thread: what is put in runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class LoopThreadConnection(aiosqlite.Connection):
    """An aiosqlite connection that never starts its worker thread."""

    busy_timeout_s = 30.0  #: how long a locked database is waited for, in asyncio sleeps

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        delay, deadline = _FIRST_RETRY_S, 0.0
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in _BUSY:
                    raise
                now = asyncio.get_running_loop().time()
                deadline = deadline or now + self.busy_timeout_s
                if now >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY_S)

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # connects at once: there is no thread to start


async def connect(path: str, *, busy_timeout_s: float) -> LoopThreadConnection:
    """Open ``path`` as SQLAlchemy's aiosqlite dialect would (any thread may use the connection), with
    SQLite's busy handler off (locks are waited for in ``_execute``)."""
    connector = partial(sqlite3.connect, path, timeout=0, check_same_thread=False)
    connection = LoopThreadConnection(connector, iter_chunk_size=64)
    connection.busy_timeout_s = busy_timeout_s
    await connection
    return connection
