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


async def recent_runs(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    *,
    job_name: str | None = None,
    branch: str | None,
    start: datetime,
    end: datetime,
    page_token: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[RecentRun]:
    """Runs of a workflow created in ``[start, end)``, or with ``job_name`` the runs of that job of the
    workflow that started in ``[start, end)``; ``branch=None`` means every branch."""
    if job_name is None:
        t, time_col, extra = WF_RUNS, "created_at", WF_RUNS.c.is_approval
        where = [t.c.project_id == project_id, t.c.workflow_name == workflow_name]
    else:
        t, time_col, extra = JOB_RUNS, "started_at", JOB_RUNS.c.job_number
        where = [t.c.project_id == project_id, t.c.workflow_name == workflow_name, t.c.job_name == job_name]
    where += [t.c[time_col] >= start, t.c[time_col] < end]
    if branch is not None:
        where.append(t.c.branch == branch)
    rows = await _newest(tx, t, time_col, extra, where, page_token, page_size)
    items = [
        RecentRun(
            id=r[0], branch=r[1], status=r[2], created_at=r[3], stopped_at=r[4], duration_s=r[5],
            is_approval=bool(r[6]) if job_name is None else False, number=r[6] if job_name is not None else None,
        )
        for r in rows[:page_size]
    ]  # fmt: skip
    return Page(items=items, next_page_token=_next(items, rows, page_size))


async def _newest(
    tx: AsyncSession,
    t: Table,
    time_col: str,
    extra: Any,
    where: list[Any],
    page_token: str | None,
    page_size: int,
) -> list[Any]:
    """One page of runs (plus one row, to tell whether another page follows), newest first: id, branch,
    status, time, stopped_at, duration_s and ``extra``."""
    at = t.c[time_col]
    query = select(t.c.id, t.c.branch, t.c.status, at, t.c.stopped_at, t.c.duration_s, extra).where(*where)
    after = _after(t, time_col, page_token)
    if after is not None:
        query = query.where(after)
    query = query.order_by(at.desc(), t.c.id.desc()).limit(page_size + 1)
    return list((await tx.execute(query)).all())


def _next(items: list[RecentRun], rows: Any, page_size: int) -> str | None:
    if len(rows) <= page_size or not items:
        return None
    return encode_token([items[-1].created_at.isoformat(), items[-1].id])
