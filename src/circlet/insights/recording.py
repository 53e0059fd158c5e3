"""Recording finished runs: one raw row each, plus additions to the rollups, in the caller's transaction.

Real runs arrive one at a time from ``engine.events``; ``circlet dev seed-history`` sends thousands per
call. Both go through ``record_workflow_runs``/``record_job_runs``, so seeded history is counted exactly
like real history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights import _sql
from circlet.insights.durations import pack_histogram, whole_seconds
from circlet.insights.windows import day_of, hour_of, week_of
from circlet.model.statuses import JobStatus, WorkflowStatus
from circlet.store.tables_insights import (
    BranchStateRow,
    JobDayRow,
    JobHourRow,
    JobRunRow,
    JobWeekRow,
    WorkflowDayRow,
    WorkflowRunRow,
    WorkflowWeekRow,
)

ALL_BRANCHES = "*"  #: the rollup branch that sums every branch (``*`` is not allowed in git refs)
SUMS = ("total_runs", "successful_runs", "failed_runs", "canceled_runs", "duration_total_s")


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"


#: Final statuses that count as runs; anything else (not_run, on_hold...) is not a run.
OUTCOMES: dict[str, Outcome] = {
    WorkflowStatus.SUCCESS: Outcome.SUCCESS,
    WorkflowStatus.FAILED: Outcome.FAILED,
    WorkflowStatus.ERROR: Outcome.FAILED,
    WorkflowStatus.UNAUTHORIZED: Outcome.FAILED,
    WorkflowStatus.CANCELED: Outcome.CANCELED,
    JobStatus.INFRASTRUCTURE_FAIL: Outcome.FAILED,
    JobStatus.TIMEDOUT: Outcome.FAILED,
}


def outcome_of(status: str) -> Outcome | None:
    return OUTCOMES.get(status)


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowRun:
    """A finished workflow, with the pipeline facts Insights groups by."""

    id: str
    project_id: str
    workflow_name: str
    branch: str  #: "" for tag pipelines
    pipeline_number: int
    status: str
    created_at: datetime
    stopped_at: datetime
    is_approval: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class JobRun:
    """A finished job that ran (not approvals, not jobs skipped as not_run)."""

    id: str
    project_id: str
    workflow_id: str
    workflow_name: str
    job_name: str
    job_number: int | None
    branch: str
    status: str
    started_at: datetime  #: created_at when the job never started (canceled while queued)
    stopped_at: datetime


@dataclass
class _Bucket:
    total_runs: int = 0
    successful_runs: int = 0
    failed_runs: int = 0
    canceled_runs: int = 0
    duration_total_s: int = 0
    recoveries: int = 0
    recovery_total_s: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    durations: list[int] = field(default_factory=list)

    def add(self, outcome: Outcome, duration_s: int, first: datetime, last: datetime) -> None:
        self.total_runs += 1
        if outcome is Outcome.SUCCESS:
            self.successful_runs += 1
            self.durations.append(duration_s)
        elif outcome is Outcome.FAILED:
            self.failed_runs += 1
        else:
            self.canceled_runs += 1
        self.duration_total_s += duration_s
        if self.first_at is None or first < self.first_at:
            self.first_at = first
        if self.last_at is None or last > self.last_at:
            self.last_at = last

    def values(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in SUMS}
        return out | {
            "first_at": self.first_at,
            "last_at": self.last_at,
            "durations": pack_histogram(self.durations),
        }


def _table(row: type[Any]) -> Table:
    table: Table = row.__table__
    return table


async def record_workflow_runs(tx: AsyncSession, runs: Iterable[WorkflowRun]) -> None:
    """Record finished workflow runs (in the order they stopped) into raw rows, daily and weekly rollups,
    with MTTR."""
    counted = sorted((r for r in runs if outcome_of(r.status)), key=lambda r: (r.stopped_at, r.id))
    if not counted:
        return
    recoveries = await _track_recoveries(tx, counted)
    raw = [_workflow_row(r, recoveries.get(r.id)) for r in counted]
    new_ids = await _sql.insert_new(tx, _table(WorkflowRunRow), raw)
    units = (("day", WorkflowDayRow, day_of), ("week", WorkflowWeekRow, week_of))
    buckets: dict[str, dict[tuple[str, str, str, int], _Bucket]] = {unit: {} for unit, _, _ in units}
    for run, row in zip(counted, raw, strict=True):
        if run.id not in new_ids:
            continue
        outcome, duration, at = OUTCOMES[run.status], row["duration_s"], run.created_at
        for unit, _, unit_of in units:
            slot, by_key = unit_of(at), buckets[unit]
            for branch in (run.branch, ALL_BRANCHES):
                bucket = by_key.get((run.project_id, run.workflow_name, branch, slot))
                if bucket is None:
                    bucket = by_key[(run.project_id, run.workflow_name, branch, slot)] = _Bucket()
                bucket.add(outcome, duration, at, at)
                if run.id in recoveries:
                    bucket.recoveries += 1
                    bucket.recovery_total_s += recoveries[run.id]
    for unit, row_type, _ in units:
        keys = ("project_id", "workflow_name", "branch", unit)
        rows = [
            dict(zip(keys, key, strict=True)) | b.values() | _recovery_values(b)
            for key, b in buckets[unit].items()
        ]
        await _sql.add_to_rollup(
            tx, _table(row_type), keys, rows, sums=(*SUMS, "recoveries", "recovery_total_s")
        )


def _recovery_values(bucket: _Bucket) -> dict[str, int]:
    return {"recoveries": bucket.recoveries, "recovery_total_s": bucket.recovery_total_s}


def _workflow_row(run: WorkflowRun, recovery_s: int | None) -> dict[str, Any]:
    return {
        "id": run.id,
        "project_id": run.project_id,
        "workflow_name": run.workflow_name,
        "branch": run.branch,
        "pipeline_number": run.pipeline_number,
        "status": run.status,
        "created_at": run.created_at,
        "stopped_at": run.stopped_at,
        "duration_s": whole_seconds((run.stopped_at - run.created_at).total_seconds()),
        "recovery_s": recovery_s,
        "is_approval": run.is_approval,
    }


async def _track_recoveries(tx: AsyncSession, runs: Sequence[WorkflowRun]) -> dict[str, int]:
    """Walk the runs in stop order per (workflow, branch): a failure opens a failing streak, the next
    success closes it and records ``success.stopped_at - first_failure.stopped_at``. Canceled runs
    change nothing. The state rows are locked (PostgreSQL) so concurrent finishers serialize."""
    table = _table(BranchStateRow)
    keys = {(r.project_id, r.workflow_name, r.branch) for r in runs}
    await _sql.insert_ignore(
        tx, table, [{"project_id": p, "workflow_name": w, "branch": b} for p, w, b in sorted(keys)]
    )
    states = await _load_states(tx, table, keys)
    before = dict(states)
    recoveries: dict[str, int] = {}
    for run in runs:
        key = (run.project_id, run.workflow_name, run.branch)
        outcome = outcome_of(run.status)
        if outcome is Outcome.FAILED and states[key] is None:
            states[key] = run.stopped_at
        elif outcome is Outcome.SUCCESS and states[key] is not None:
            since = states[key]
            assert since is not None
            recoveries[run.id] = whole_seconds((run.stopped_at - since).total_seconds())
            states[key] = None
    changed = [
        {"p": p, "w": w, "b": b, "since": since}
        for (p, w, b), since in states.items()
        if before[(p, w, b)] != since
    ]
    await _save_states(tx, table, changed)
    return recoveries


async def _load_states(
    tx: AsyncSession, table: Table, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], datetime | None]:
    projects = sorted({k[0] for k in keys})
    names = sorted({k[1] for k in keys})
    query = (
        select(table.c.project_id, table.c.workflow_name, table.c.branch, table.c.failing_since)
        .where(table.c.project_id.in_(projects), table.c.workflow_name.in_(names))
        .with_for_update()
    )
    found = {(p, w, b): since for p, w, b, since in (await tx.execute(query)).all()}
    return {key: found.get(key) for key in keys}


async def _save_states(tx: AsyncSession, table: Table, changed: list[dict[str, Any]]) -> None:
    if not changed:
        return
    stmt = (
        update(table)
        .where(
            and_(
                table.c.project_id == bindparam("p"),
                table.c.workflow_name == bindparam("w"),
                table.c.branch == bindparam("b"),
            )
        )
        .values(failing_since=bindparam("since"))
    )
    await tx.execute(stmt, changed)


async def record_job_runs(tx: AsyncSession, runs: Iterable[JobRun]) -> None:
    """Record finished job runs into raw rows and the daily, hourly and weekly job rollups.

    One pass over the runs; each touched rollup row gets one upsert per call, so a batch of many runs
    (the history seeder, or several jobs finishing in one transaction) costs little more than one run.
    """
    counted = [r for r in runs if outcome_of(r.status)]
    if not counted:
        return
    raw = [_job_row(r) for r in counted]
    new_ids = await _sql.insert_new(tx, _table(JobRunRow), raw)
    units = (("day", JobDayRow, day_of), ("hour", JobHourRow, hour_of), ("week", JobWeekRow, week_of))
    buckets: dict[str, dict[tuple[str, str, str, str, int], _Bucket]] = {unit: {} for unit, _, _ in units}
    for run, row in zip(counted, raw, strict=True):
        if run.id not in new_ids:
            continue
        outcome, duration = OUTCOMES[run.status], row["duration_s"]
        for unit, _, unit_of in units:
            slot, by_key = unit_of(run.started_at), buckets[unit]
            for branch in (run.branch, ALL_BRANCHES):
                key = (run.project_id, run.workflow_name, run.job_name, branch, slot)
                bucket = by_key.get(key)
                if bucket is None:
                    bucket = by_key[key] = _Bucket()
                bucket.add(outcome, duration, run.started_at, run.stopped_at)
    for unit, row_type, _ in units:
        keys = ("project_id", "workflow_name", "job_name", "branch", unit)
        rows = [dict(zip(keys, key, strict=True)) | b.values() for key, b in buckets[unit].items()]
        await _sql.add_to_rollup(tx, _table(row_type), keys, rows, sums=SUMS)


def _job_row(run: JobRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "project_id": run.project_id,
        "workflow_id": run.workflow_id,
        "workflow_name": run.workflow_name,
        "job_name": run.job_name,
        "job_number": run.job_number,
        "branch": run.branch,
        "status": run.status,
        "started_at": run.started_at,
        "stopped_at": run.stopped_at,
        "duration_s": whole_seconds((run.stopped_at - run.started_at).total_seconds()),
    }
