"""Reading a window: whole weeks and days from the rollups plus the partial edge days from the raw run rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    LargeBinary,
    Table,
    Text,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from circlet.insights._sql import dialect
from circlet.insights.durations import pack_listed
from circlet.insights.recording import ALL_BRANCHES, OUTCOMES, Outcome, outcome_of
from circlet.insights.tally import Tally
from circlet.insights.windows import Window, split_hours, split_weeks
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
    """``workflow_tallies_of`` one window."""
    (out,) = await workflow_tallies_of(
        tx, project_ids, [window], branch=branch, key=key, workflow_name=workflow_name,
        per_branch=per_branch, durations=durations, spans=spans,
    )  # fmt: skip
    return out


async def workflow_tallies_of(
    tx: AsyncSession,
    project_ids: Sequence[str],
    windows: Sequence[Window],
    *,
    branch: str | None,
    key: Callable[[str, str, str], Hashable],
    workflow_name: str | None = None,
    per_branch: bool = False,
    durations: bool = True,
    spans: bool = True,
) -> list[dict[Hashable, Tally]]:
    """Tallies of workflow runs created in each of ``windows`` (disjoint), grouped by
    ``key(project_id, name, branch)``: whole weeks from the weekly rollups, the other whole days from the
    daily ones, the edges from raw rows.

    The windows are read together (a current window and the previous one are adjacent): one statement
    sums the rollup rows per (window, project, workflow, branch) in SQL, histograms concatenated (a
    packed histogram is a list of pairs, so concatenating stays exact), and one more reads the edges.

    ``per_branch`` (with ``branch=None``) tallies every real branch and also the ``*`` sums over all
    branches, so ``key`` may split by branch and still find the all-branch figures under ``*``.
    ``durations=False`` skips the histograms and ``spans=False`` the first/last run times (not read).
    """
    outs: list[defaultdict[Hashable, Tally]] = [defaultdict(Tally) for _ in windows]
    week_ranges: list[tuple[int, range]] = []
    day_ranges: list[tuple[int, range]] = []
    edges: list[tuple[int, datetime, datetime]] = []
    for index, window in enumerate(windows):
        days, window_edges = window.split()
        weeks, loose_days = split_weeks(days)
        week_ranges += [(index, weeks)] if len(weeks) else []
        day_ranges += [(index, r) for r in loose_days]
        edges += [(index, start, end) for start, end in window_edges]
    parts = [(WF_WEEKS, WF_WEEKS.c.week, week_ranges)] if week_ranges else []
    parts += [(WF_DAYS, WF_DAYS.c.day, day_ranges)] if day_ranges else []
    selects = []
    for table, slot, ranges in parts:
        # which window a slot belongs to; plain integers in the SQL, so GROUP BY repeats it verbatim
        which = case(
            *[(_between(slot, r), literal_column(str(i))) for i, r in ranges], else_=literal_column("-1")
        )
        group = (table.c.project_id, table.c.workflow_name, table.c.branch)
        cols: list[Any] = [which, *group]
        cols += [func.min(table.c.first_at), func.max(table.c.last_at)] if spans else [null(), null()]
        cols += [func.sum(table.c.recoveries), func.sum(table.c.recovery_total_s)]
        cols += [func.sum(table.c[c]) for c in COUNTS]
        cols += [_concat_blobs(tx, table.c.durations)] if durations else []
        query = select(*cols).where(
            table.c.project_id.in_(project_ids), or_(*[_between(slot, r) for _, r in ranges])
        )
        if not per_branch:
            query = _branch_filter(query, table, branch, rollup=True)
        if workflow_name is not None:
            query = query.where(table.c.workflow_name == workflow_name)
        selects.append(query.group_by(which, *group))
    if selects:
        statement = selects[0] if len(selects) == 1 else union_all(*selects)
        for row in (await tx.execute(statement)).all():
            counts = (int(row[8]), int(row[9]), int(row[10]), int(row[11]), int(row[12]))
            recoveries = (int(row[6]), int(row[7]))
            blob = row[13] if durations else None
            outs[row[0]][key(row[1], row[2], row[3])].add_rollup(counts, row[4], row[5], blob, recoveries)
    if edges:
        await _add_workflow_edges(tx, outs, project_ids, edges, branch, key, workflow_name, per_branch)
    return [dict(out) for out in outs]


def _between(slot: ColumnElement[int], days: range) -> ColumnElement[bool]:
    return slot.between(literal_column(str(days.start)), literal_column(str(days.stop - 1)))


def _concat_blobs(tx: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The group's packed histograms end to end (PostgreSQL ``string_agg`` of bytea; SQLite's
    ``group_concat`` keeps a blob's bytes, typed as text until cast back)."""
    if dialect(tx) == "postgresql":
        return func.string_agg(column, literal_column("''::bytea"), type_=LargeBinary)
    return cast(func.group_concat(column, literal_column("''")), LargeBinary)


async def _add_workflow_edges(
    tx: AsyncSession,
    outs: Sequence[defaultdict[Hashable, Tally]],
    project_ids: Sequence[str],
    edges: list[tuple[int, datetime, datetime]],
    branch: str | None,
    key: Callable[[str, str, str], Hashable],
    workflow_name: str | None,
    per_branch: bool,
) -> None:
    """Add the raw workflow runs created in the ``[start, end)`` edges (each tagged with the index of
    its window in ``outs``), summed in SQL per (project, workflow, branch, status): counts and sums, and
    the successful runs' durations as one comma-separated list. One statement (a UNION ALL of one range
    scan per edge), one row per group rather than per distinct duration."""
    t = WF_RUNS
    group = (t.c.project_id, t.c.workflow_name, t.c.branch, t.c.status)
    where: list[ColumnElement[bool]] = [t.c.project_id.in_(project_ids)]
    where += [] if branch is None else [t.c.branch == branch]
    where += [] if workflow_name is None else [t.c.workflow_name == workflow_name]
    listed = _list_ints(tx, case((t.c.status == Outcome.SUCCESS.value, t.c.duration_s)))
    sums = union_all(*[
        select(
            literal_column(str(i)), *group, func.count(), func.sum(t.c.duration_s), func.min(t.c.created_at),
            func.max(t.c.created_at), func.count(t.c.recovery_s), func.coalesce(func.sum(t.c.recovery_s), 0),
            listed,
        ).where(*where, t.c.created_at >= start, t.c.created_at < end).group_by(*group)
        for i, start, end in edges
    ])  # fmt: skip
    rows = (await tx.execute(sums)).all()
    for (
        index,
        project,
        name,
        run_branch,
        status,
        count,
        total,
        first,
        last,
        recoveries,
        recovery_s,
        ds,
    ) in rows:
        counts = _outcome_counts(OUTCOMES[status], count, int(total or 0))
        blob = pack_listed(ds) if ds else None
        branches = (run_branch, ALL_BRANCHES) if per_branch else (run_branch,)
        for b in branches:  # where a run counts: its branch, and with ``per_branch`` also ``*``
            outs[index][key(project, name, b)].add_rollup(
                counts, first, last, blob, (recoveries, int(recovery_s))
            )


def _list_ints(tx: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The group's non-NULL integers as one comma-separated text (NULL when there are none)."""
    if dialect(tx) == "postgresql":
        return func.string_agg(cast(column, Text), literal_column("','"))
    return func.group_concat(column, literal_column("','"))


def _outcome_counts(
    outcome: Outcome | None, count: int, duration_total: int
) -> tuple[int, int, int, int, int]:
    """Rollup counts (total, successful, failed, canceled, duration sum) of ``count`` runs of one outcome."""
    return (
        count,
        count if outcome is Outcome.SUCCESS else 0,
        count if outcome is Outcome.FAILED else 0,
        count if outcome is Outcome.CANCELED else 0,
        duration_total,
    )


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
    rollups, the other whole days from the daily ones, the whole hours of the partial edge days from the
    hourly ones, and only the partial edge hours (at most two hours together) from the raw rows."""
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
    hours: list[range] = []
    raw: list[tuple[datetime, datetime]] = []
    for start, end in edges:
        whole, partial = split_hours(start, end)
        hours += [whole] if len(whole) else []
        raw += partial
    if hours:
        query = _job_rollup_query(JOB_HOURS, project_id, workflow_name, branch, job_name)
        query = query.where(or_(*[JOB_HOURS.c.hour.between(r.start, r.stop - 1) for r in hours]))
        await _add_job_rollups(tx, out, query)
    if raw:
        await _add_job_edges(tx, out, project_id, workflow_name, raw, branch=branch, job_name=job_name)
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


async def _add_job_edges(
    tx: AsyncSession,
    out: dict[str, Tally],
    project_id: str,
    workflow_name: str,
    spans: list[tuple[datetime, datetime]],
    *,
    branch: str | None,
    job_name: str | None,
) -> None:
    """Add the raw job runs started in the ``[start, end)`` spans, summed in SQL (one statement for the
    sums and one for the successful durations, each a UNION ALL of one range scan per span)."""
    t = JOB_RUNS
    where: list[ColumnElement[bool]] = [t.c.project_id == project_id, t.c.workflow_name == workflow_name]
    where += [] if branch is None else [t.c.branch == branch]
    where += [] if job_name is None else [t.c.job_name == job_name]
    in_spans = [[*where, t.c.started_at >= start, t.c.started_at < end] for start, end in spans]
    sums = union_all(*[
        select(
            t.c.job_name, t.c.status, func.count(), func.sum(t.c.duration_s), func.min(t.c.started_at),
            func.max(t.c.stopped_at),
        ).where(*span).group_by(t.c.job_name, t.c.status)
        for span in in_spans
    ])  # fmt: skip
    for name, status, count, duration_total, first_at, last_at in (await tx.execute(sums)).all():
        counts = _outcome_counts(outcome_of(status), count, int(duration_total or 0))
        out.setdefault(name, Tally()).add_rollup(counts, first_at, last_at)
    successes = union_all(*[
        select(t.c.job_name, t.c.duration_s).where(*span, t.c.status == Outcome.SUCCESS.value) for span in in_spans
    ])  # fmt: skip
    for name, duration in (await tx.execute(successes)).all():
        out[name].raw_durations.append(duration)
