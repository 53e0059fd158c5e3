"""Recent runs of a workflow or of a job, newest first, with keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import BadRequest
from circlet.insights.queries import JOB_RUNS, WF_RUNS
from circlet.store.pages import DEFAULT_PAGE_SIZE, Page, decode_token, encode_token


@dataclass(frozen=True, kw_only=True, slots=True)
class RecentRun:
    id: str
    branch: str
    status: str
    created_at: datetime  #: the workflow's creation, or the job's start
    stopped_at: datetime
    duration_s: int
    is_approval: bool = False
    number: int | None = None  #: the job number (jobs only)


def _after(table: Table, time_col: str, token: str | None) -> Any:
    key = decode_token(token)
    if key is None:
        return None
    try:
        at, last_id = datetime.fromisoformat(str(key[0])), str(key[1])
    except (ValueError, IndexError):
        raise BadRequest("Invalid page-token.") from None
    col = table.c[time_col]
    return or_(col < at, and_(col == at, table.c.id < last_id))


async def recent_workflow_runs(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    *,
    branch: str | None,
    start: datetime,
    end: datetime,
    page_token: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[RecentRun]:
    """Runs created in ``[start, end)``; ``branch=None`` means every branch."""
    t = WF_RUNS
    query = select(
        t.c.id, t.c.branch, t.c.status, t.c.created_at, t.c.stopped_at, t.c.duration_s, t.c.is_approval
    ).where(
        t.c.project_id == project_id,
        t.c.workflow_name == workflow_name,
        t.c.created_at >= start,
        t.c.created_at < end,
    )
    if branch is not None:
        query = query.where(t.c.branch == branch)
    after = _after(t, "created_at", page_token)
    if after is not None:
        query = query.where(after)
    query = query.order_by(t.c.created_at.desc(), t.c.id.desc()).limit(page_size + 1)
    rows = (await tx.execute(query)).all()
    items = [
        RecentRun(
            id=r[0],
            branch=r[1],
            status=r[2],
            created_at=r[3],
            stopped_at=r[4],
            duration_s=r[5],
            is_approval=r[6],
        )
        for r in rows[:page_size]
    ]
    return Page(items=items, next_page_token=_next(items, rows, page_size))


async def recent_job_runs(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    job_name: str,
    *,
    branch: str | None,
    start: datetime,
    end: datetime,
    page_token: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[RecentRun]:
    """Runs of one job of a workflow that started in ``[start, end)``."""
    t = JOB_RUNS
    query = select(
        t.c.id, t.c.branch, t.c.status, t.c.started_at, t.c.stopped_at, t.c.duration_s, t.c.job_number
    ).where(
        t.c.project_id == project_id,
        t.c.workflow_name == workflow_name,
        t.c.job_name == job_name,
        t.c.started_at >= start,
        t.c.started_at < end,
    )
    if branch is not None:
        query = query.where(t.c.branch == branch)
    after = _after(t, "started_at", page_token)
    if after is not None:
        query = query.where(after)
    query = query.order_by(t.c.started_at.desc(), t.c.id.desc()).limit(page_size + 1)
    rows = (await tx.execute(query)).all()
    items = [
        RecentRun(
            id=r[0], branch=r[1], status=r[2], created_at=r[3], stopped_at=r[4], duration_s=r[5], number=r[6]
        )
        for r in rows[:page_size]
    ]
    return Page(items=items, next_page_token=_next(items, rows, page_size))


def _next(items: list[RecentRun], rows: Any, page_size: int) -> str | None:
    if len(rows) <= page_size or not items:
        return None
    return encode_token([items[-1].created_at.isoformat(), items[-1].id])
