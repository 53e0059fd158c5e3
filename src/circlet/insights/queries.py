"""Reading a window: whole weeks and days from the rollups plus the partial edge days from the raw run rows."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import Table, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights.recording import ALL_BRANCHES, Outcome, outcome_of
from circlet.insights.tally import Tally
from circlet.insights.windows import Window, split_weeks
from circlet.store.tables_insights import (
    JobDayRow,
    JobHourRow,
    JobRunRow,
    JobWeekRow,
    WorkflowDayRow,
    WorkflowRunRow,
    WorkflowWeekRow,
)

KeyOf = Callable[[Any], Hashable]


def _table(row: type[Any]) -> Table:
    table: Table = row.__table__
    return table


WF_DAYS, WF_WEEKS, WF_RUNS = _table(WorkflowDayRow), _table(WorkflowWeekRow), _table(WorkflowRunRow)
JOB_DAYS, JOB_RUNS = _table(JobDayRow), _table(JobRunRow)
JOB_HOURS, JOB_WEEKS = _table(JobHourRow), _table(JobWeekRow)
COUNTS = ("total_runs", "successful_runs", "failed_runs", "canceled_runs", "duration_total_s")


def _branch_filter(query: Any, table: Table, branch: str | None, *, rollup: bool) -> Any:
    """``branch=None`` means all branches: the ``*`` rollup rows, or every raw row."""
    if branch is not None:
        return query.where(table.c.branch == branch)
    return query.where(table.c.branch == ALL_BRANCHES) if rollup else query


async def workflow_tallies(
    tx: AsyncSession,
    project_ids: Sequence[str],
    window: Window,
    *,
    branch: str | None,
    key: Callable[[str, str, str], Hashable],
    workflow_name: str | None = None,
    per_branch: bool = False,
    durations: bool = True,
    spans: bool = True,
) -> dict[Hashable, Tally]:
    """Tallies of workflow runs created in ``window``, grouped by ``key(project_id, name, branch)``: whole
    weeks from the weekly rollups, the other whole days from the daily ones, the edges from raw rows.

    ``per_branch`` reads every real branch's rows (not the ``*`` sums) so ``key`` may split by branch.
    ``durations=False`` skips the histograms and ``spans=False`` the first/last run times (not read).
    """
    days, edges = window.split()
    out: dict[Hashable, Tally] = {}
    weeks, loose_days = split_weeks(days)
    parts = [(WF_WEEKS, WF_WEEKS.c.week, [weeks])] if len(weeks) else []
    parts += [(WF_DAYS, WF_DAYS.c.day, loose_days)] if loose_days else []
    for table, slot, ranges in parts:
        first_at, last_at = (table.c.first_at, table.c.last_at) if spans else (null(), null())
        cols = [table.c.project_id, table.c.workflow_name, table.c.branch, first_at]
        cols += [last_at, table.c.recoveries, table.c.recovery_total_s]
        cols += [table.c[c] for c in COUNTS] + ([table.c.durations] if durations else [])
        query = select(*cols).where(
            table.c.project_id.in_(project_ids), or_(*[slot.between(r.start, r.stop - 1) for r in ranges])
        )
        if per_branch:
            query = query.where(table.c.branch != ALL_BRANCHES)
            if branch is not None:
                query = query.where(table.c.branch == branch)
        else:
            query = _branch_filter(query, table, branch, rollup=True)
        if workflow_name is not None:
            query = query.where(table.c.workflow_name == workflow_name)
        for row in (await tx.execute(query)).all():
            tally = out.setdefault(key(row[0], row[1], row[2]), Tally())
            tally.add_rollup(
                tuple(row[7:12]), row[3], row[4], row[12] if durations else None, (row[5], row[6])
            )
    for start, end in edges:
        query = select(
            WF_RUNS.c.project_id,
            WF_RUNS.c.workflow_name,
            WF_RUNS.c.branch,
            WF_RUNS.c.status,
            WF_RUNS.c.created_at,
            WF_RUNS.c.duration_s,
            WF_RUNS.c.recovery_s,
        ).where(
            WF_RUNS.c.project_id.in_(project_ids), WF_RUNS.c.created_at >= start, WF_RUNS.c.created_at < end
        )
        query = _branch_filter(query, WF_RUNS, branch, rollup=False)
        if workflow_name is not None:
            query = query.where(WF_RUNS.c.workflow_name == workflow_name)
        for project, name, run_branch, status, created, duration, recovery in (await tx.execute(query)).all():
            outcome = outcome_of(status)
            assert outcome is not None
            tally = out.setdefault(key(project, name, run_branch), Tally())
            tally.add_run(outcome, duration, created, created, recovery)
    return out


async def job_tallies(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    window: Window,
    *,
    branch: str | None,
    job_name: str | None = None,
) -> dict[str, Tally]:
    """Tallies of a workflow's job runs started in ``window``, by job name: whole weeks from the weekly
    rollups, the other whole days from the daily ones, the partial edge days from the raw rows."""
    days, edges = window.split()
    out: dict[str, Tally] = {}
    weeks, loose_days = split_weeks(days)
    if len(weeks):
        query = _job_rollup_query(JOB_WEEKS, project_id, workflow_name, branch, job_name)
        query = query.where(JOB_WEEKS.c.week >= weeks.start, JOB_WEEKS.c.week < weeks.stop)
        await _add_job_rollups(tx, out, query)
    if loose_days:
        query = _job_rollup_query(JOB_DAYS, project_id, workflow_name, branch, job_name)
        query = query.where(or_(*[JOB_DAYS.c.day.between(r.start, r.stop - 1) for r in loose_days if len(r)]))
        await _add_job_rollups(tx, out, query)
    for start, end in edges:
        await _add_job_edge(tx, out, project_id, workflow_name, start, end, branch=branch, job_name=job_name)
    return out


def _job_rollup_query(
    table: Table, project_id: str, workflow_name: str, branch: str | None, job_name: str | None
) -> Any:
    query = select(
        table.c.job_name,
        table.c.first_at,
        table.c.last_at,
        table.c.durations,
        *[table.c[c] for c in COUNTS],
    ).where(
        table.c.project_id == project_id,
        table.c.workflow_name == workflow_name,
        table.c.branch == (ALL_BRANCHES if branch is None else branch),
    )
    if job_name is not None:
        query = query.where(table.c.job_name == job_name)
    return query


async def _add_job_rollups(tx: AsyncSession, out: dict[str, Tally], query: Any) -> None:
    for row in (await tx.execute(query)).all():
        out.setdefault(row[0], Tally()).add_rollup(tuple(row[4:9]), row[1], row[2], row[3])


async def job_runs(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    start: Any,
    end: Any,
    *,
    branch: str | None,
    job_name: str | None = None,
) -> list[tuple[str, str, Any, Any, int]]:
    """Raw job runs started in ``[start, end)``: (job name, status, started_at, stopped_at, duration_s)."""
    query: Any = select(
        JOB_RUNS.c.job_name,
        JOB_RUNS.c.status,
        JOB_RUNS.c.started_at,
        JOB_RUNS.c.stopped_at,
        JOB_RUNS.c.duration_s,
    ).where(
        JOB_RUNS.c.project_id == project_id,
        JOB_RUNS.c.workflow_name == workflow_name,
        JOB_RUNS.c.started_at >= start,
        JOB_RUNS.c.started_at < end,
    )
    query = _branch_filter(query, JOB_RUNS, branch, rollup=False)
    if job_name is not None:
        query = query.where(JOB_RUNS.c.job_name == job_name)
    return [tuple(r) for r in (await tx.execute(query)).all()]


async def _add_job_edge(
    tx: AsyncSession,
    out: dict[str, Tally],
    project_id: str,
    workflow_name: str,
    start: Any,
    end: Any,
    *,
    branch: str | None,
    job_name: str | None,
) -> None:
    """Add the raw job runs started in ``[start, end)``, summed in SQL (an edge day can hold thousands)."""
    t = JOB_RUNS
    where = [
        t.c.project_id == project_id,
        t.c.workflow_name == workflow_name,
        t.c.started_at >= start,
        t.c.started_at < end,
    ]
    if branch is not None:
        where.append(t.c.branch == branch)
    if job_name is not None:
        where.append(t.c.job_name == job_name)
    sums = select(
        t.c.job_name, t.c.status, func.count(), func.sum(t.c.duration_s), func.min(t.c.started_at),
        func.max(t.c.stopped_at),
    ).where(*where).group_by(t.c.job_name, t.c.status)  # fmt: skip
    for name, status, count, duration_total, first_at, last_at in (await tx.execute(sums)).all():
        outcome = outcome_of(status)
        counts = (
            count,
            count if outcome is Outcome.SUCCESS else 0,
            count if outcome is Outcome.FAILED else 0,
            count if outcome is Outcome.CANCELED else 0,
            int(duration_total or 0),
        )
        out.setdefault(name, Tally()).add_rollup(counts, first_at, last_at)
    successes = select(t.c.job_name, t.c.duration_s).where(*where, t.c.status == Outcome.SUCCESS.value)
    for name, duration in (await tx.execute(successes)).all():
        out[name].raw_durations.append(duration)
