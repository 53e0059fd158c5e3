"""Live step output as server-sent events (outside CircleCI's spec; see docs/api.md, "Live logs")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from circlet.api.deps import LogsDep, StoreDep, token_from_request
from circlet.engine import live, ui
from circlet.engine.live import LiveEvent, OutputChunk, OutputWatch
from circlet.errors import Unauthorized

router = APIRouter(tags=["Job"])

RETRY_MS = 2000  # the reconnect delay an EventSource is told to use


async def get_watch(request: Request) -> OutputWatch:
    watch: OutputWatch = request.app.state.output_watch
    return watch


WatchDep = Annotated[OutputWatch, Depends(get_watch)]


@router.get("/project/{vcs}/{org}/{repo}/job/{number}/steps/{step}/{index}/output/stream")
async def stream_step_output(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    number: int,
    step: int,
    index: int,
    store: StoreDep,
    logs: LogsDep,
    watch: WatchDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    follow: bool = True,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """The output of step ``step`` on node ``index`` so far, then as it grows, until the step ends
    (``follow=false``: only the output so far; the ``end`` event then carries the current status).

    Authentication and the lookup use a short transaction of their own: none stays open while
    the stream runs."""
    token = token_from_request(request)
    if not token:
        raise Unauthorized("You must log in first.")
    async with store.transaction() as tx:
        user = await ui.user_for_token(tx, token)
        if user is None:
            raise Unauthorized("Invalid token provided.")
        found = await live.step_for_reader(tx, user, f"{vcs}/{org}/{repo}", number, step, index)
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else offset
    events = live.follow(store, logs, watch, found, offset=start, follow=follow)
    return StreamingResponse(
        _sse(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _sse(events: AsyncIterator[LiveEvent]) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    async for item in events:
        yield _frame(item)


def _frame(item: LiveEvent) -> bytes:
    if item is None:
        return b": keep-alive\n\n"
    if isinstance(item, OutputChunk):
        body = json.dumps({"offset": item.offset, "text": item.text}, ensure_ascii=False)
        return f"id: {item.end}\nevent: output\ndata: {body}\n\n".encode()
    body = json.dumps(
        {"status": item.status, "exit_code": item.exit_code, "size": item.size, "truncated": item.truncated}
    )
    return f"id: {item.size}\nevent: end\ndata: {body}\n\n".encode()
