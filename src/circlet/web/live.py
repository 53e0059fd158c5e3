"""Live parts of pages as server-sent events.

A stream reads the state of what it shows in a short transaction of its own, sends the part again
(``swap``: HTML whose top element's id names what it replaces; ``progress``: the job page's JSON)
only when that state changed, and sends ``end`` and stops once the thing is finished, so the
browser's ``EventSource`` does not reconnect. Between reads it holds no transaction (SQLite has one
connection): it sleeps ``poll_s``, or less when a wake-up (a job's output appended) comes first.
``static/live.js`` follows the ``swap`` streams; ``static/job.js`` the job's.

A stream checks the session it opened with again (``session``) before it sends a changed part and at
least every ``SESSION_RECHECK_S``; once the session is no longer valid (expired, its token revoked) it
sends ``end`` with the data ``signed-out`` and stops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from fastapi.responses import StreamingResponse

from circlet.engine import Tx

POLL_S = 1.0  # seconds between state reads when nothing woke the stream
KEEPALIVE_S = 15.0  # seconds of silence before a comment line keeps proxies from closing the stream
RETRY_MS = 3000  # the reconnect delay an EventSource is told to use (after a dropped connection)
MIN_READ_GAP_S = 0.25  # seconds: wake-ups closer together than this are read once
SESSION_RECHECK_S = 30.0  # seconds: a stream checks its session again at least this often
SIGNED_OUT = "signed-out"  #: the data of the ``end`` event a stream sends when its session is gone


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a stream read: a fingerprint of the state, whether it is finished, and how to render it."""

    fingerprint: Hashable
    done: bool
    render: Callable[[], str]  #: called after the transaction ended


OpenTx = Callable[[], AbstractAsyncContextManager[Tx]]
Read = Callable[[Tx], Awaitable[Snapshot]]
SessionCheck = Callable[[Tx], Awaitable[bool]]  #: whether the stream's session is still valid


def frame(event: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


async def events(
    open_tx: OpenTx,
    read: Read,
    *,
    session: SessionCheck,
    event: str = "swap",
    wake: asyncio.Event | None = None,
    poll_s: float = POLL_S,
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[bytes]:
    """The stream's frames: ``event`` each time the state changed, then ``end`` (with ``signed-out``
    when the session stopped being valid)."""
    loop = asyncio.get_running_loop()
    yield f"retry: {RETRY_MS}\n\n".encode()
    last: Any = object()
    last_sent = checked = loop.time()
    while True:
        async with open_tx() as tx:
            snapshot = await read(tx)
            changed = snapshot.fingerprint != last
            due = changed or loop.time() - checked >= SESSION_RECHECK_S
            valid = await session(tx) if due else True
        if not valid:
            yield frame("end", SIGNED_OUT)
            return
        checked = loop.time() if due else checked
        if changed:
            last = snapshot.fingerprint
            yield frame(event, snapshot.render())
            last_sent = loop.time()
        if snapshot.done:
            yield frame("end", "")
            return
        if loop.time() - last_sent >= keepalive_s:
            yield b": keep-alive\n\n"
            last_sent = loop.time()
        await _sleep(wake, poll_s)


async def _sleep(wake: asyncio.Event | None, poll_s: float) -> None:
    if wake is None:
        await asyncio.sleep(poll_s)
        return
    wake.clear()
    try:
        await asyncio.wait_for(wake.wait(), timeout=poll_s)
        await asyncio.sleep(MIN_READ_GAP_S)  # let a burst of appends through before reading again
    except TimeoutError:
        pass


def stream(frames: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def progress_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)
