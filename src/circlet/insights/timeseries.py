"""Per-job metrics of a workflow in daily or hourly buckets, read from the daily and hourly job rollups
(hourly: the partial hours at the edges of ``[start, end)`` from the raw rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights.queries import COUNTS, JOB_DAYS, JOB_HOURS, job_runs
from circlet.insights.recording import ALL_BRANCHES, outcome_of
from circlet.insights.tally import RunMetrics, Tally
from circlet.insights.windows import DAY_S, EPOCH, HOUR_S, day_of, midnight, split_hours
from circlet.store.pages import decode_token, encode_token

HOURLY_RETENTION = timedelta(hours=48)
PAGE_SIZE = 100  #: points per page (one job's 90 days fit on one page)


class Granularity(StrEnum):
    DAILY = "daily"
    HOURLY = "hourly"


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeseriesPoint:
    name: str  #: the job name
    timestamp: datetime  #: the bucket's start
    min_started_at: datetime
    max_ended_at: datetime
    metrics: RunMetrics


async def job_timeseries(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    *,
    branch: str | None,
    granularity: Granularity,
    start: datetime,
    end: datetime,
    page_token: str | None = None,
    page_size: int = PAGE_SIZE,
) -> tuple[list[TimeseriesPoint], str | None]:
    """Buckets with at least one run, by job name then time. Daily buckets are whole UTC days that
    overlap ``[start, end)``; hourly buckets are whole hours of job runs started in ``[start, end)``."""
    tallies: dict[tuple[str, int], Tally] = {}
    if granularity is Granularity.DAILY:
        await _daily(tx, project_id, workflow_name, branch, start, end, tallies)
        size_s = DAY_S
    else:
        await _hourly(tx, project_id, workflow_name, branch, start, end, tallies)
        size_s = HOUR_S
    keys = sorted(tallies)
    position = decode_token(page_token)
    first = int(position[0]) if position and isinstance(position[0], int) else 0
    page = keys[first : first + page_size]
    next_token = encode_token([first + page_size]) if first + page_size < len(keys) else None
    points = []
    for key in page:  # metrics only for the page asked for
        tally = tallies[key]
        name, slot = key
        assert tally.first_at is not None and tally.last_at is not None
        points.append(
            TimeseriesPoint(
                name=name,
                timestamp=EPOCH + timedelta(seconds=slot * size_s),
                min_started_at=tally.first_at,
                max_ended_at=tally.last_at,
                metrics=tally.metrics(size_s / DAY_S),
            )
        )
    return points, next_token


async def _daily(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    branch: str | None,
    start: datetime,
    end: datetime,
    tallies: dict[tuple[str, int], Tally],
) -> None:
    last_day = day_of(end) if end > midnight(day_of(end)) else day_of(end) - 1
    query = select(
        JOB_DAYS.c.job_name,
        JOB_DAYS.c.day,
        JOB_DAYS.c.first_at,
        JOB_DAYS.c.last_at,
        JOB_DAYS.c.durations,
        *[JOB_DAYS.c[c] for c in COUNTS],
    ).where(
        JOB_DAYS.c.project_id == project_id,
        JOB_DAYS.c.workflow_name == workflow_name,
        JOB_DAYS.c.branch == (ALL_BRANCHES if branch is None else branch),
        JOB_DAYS.c.day >= day_of(start),
        JOB_DAYS.c.day <= last_day,
    )
    for row in (await tx.execute(query)).all():
        tallies.setdefault((row[0], row[1]), Tally()).add_rollup(tuple(row[5:10]), row[2], row[3], row[4])


async def _hourly(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    branch: str | None,
    start: datetime,
    end: datetime,
    tallies: dict[tuple[str, int], Tally],
) -> None:
    """Whole hours inside ``[start, end)`` from the hourly rollups, the partial edge hours from raw rows."""
    hours, edges = split_hours(start, end)
    if len(hours):
        query = select(
            JOB_HOURS.c.job_name,
            JOB_HOURS.c.hour,
            JOB_HOURS.c.first_at,
            JOB_HOURS.c.last_at,
            JOB_HOURS.c.durations,
            *[JOB_HOURS.c[c] for c in COUNTS],
        ).where(
            JOB_HOURS.c.project_id == project_id,
            JOB_HOURS.c.workflow_name == workflow_name,
            JOB_HOURS.c.branch == (ALL_BRANCHES if branch is None else branch),
            JOB_HOURS.c.hour >= hours.start,
            JOB_HOURS.c.hour < hours.stop,
        )
        for row in (await tx.execute(query)).all():
            tallies.setdefault((row[0], row[1]), Tally()).add_rollup(tuple(row[5:10]), row[2], row[3], row[4])
    for edge_start, edge_end in edges:
        for name, status, started, stopped, duration in await job_runs(
            tx, project_id, workflow_name, edge_start, edge_end, branch=branch
        ):
            outcome = outcome_of(status)
            assert outcome is not None
            hour = int((started - EPOCH).total_seconds() // HOUR_S)
            tallies.setdefault((name, hour), Tally()).add_run(outcome, duration, started, stopped, None)
