"""The rollups (daily, weekly, hourly; per branch and ``*``) answer exactly what a plain aggregation over
every run gives, for a random history written in several transactions (so rollup rows are merged and
their histograms compacted), over windows that cut through hours, days and weeks."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from circlet.engine import projects
from circlet.insights import reads
from circlet.insights.durations import DurationStats, stats, whole_seconds
from circlet.insights.recording import Outcome, outcome_of
from circlet.insights.seed import PastWorkflow, synthesize
from circlet.insights.tally import RunMetrics
from circlet.insights.timeseries import Granularity, job_timeseries
from circlet.insights.windows import HOUR_S, Window
from circlet.store._types import utcnow
from circlet.store.db import Store
from tests.conftest import MakeProject
from tests.integration.insights.conftest import WriteHistory


@dataclass(frozen=True)
class Run:
    workflow: str
    job: str | None
    branch: str
    outcome: Outcome
    at: datetime  #: what places the run in a window (workflow: created, job: started)
    duration_s: int


def _runs(history: Iterable[PastWorkflow]) -> tuple[list[Run], list[Run]]:
    workflows, jobs = [], []
    for w in history:
        outcome = outcome_of(w.status)
        assert outcome is not None
        seconds = whole_seconds((w.stopped_at - w.created_at).total_seconds())
        workflows.append(Run(w.name, None, w.branch, outcome, w.created_at, seconds))
        for j in w.jobs:
            job_outcome = outcome_of(j.status)
            assert job_outcome is not None
            seconds = whole_seconds((j.stopped_at - j.started_at).total_seconds())
            jobs.append(Run(w.name, j.name, w.branch, job_outcome, j.started_at, seconds))
    return workflows, jobs


def _expected(runs: list[Run]) -> tuple[int, int, int, int, int, DurationStats]:
    ok = [r.duration_s for r in runs if r.outcome is Outcome.SUCCESS]
    return (
        len(runs),
        len(ok),
        sum(r.outcome is Outcome.FAILED for r in runs),
        sum(r.outcome is Outcome.CANCELED for r in runs),
        sum(r.duration_s for r in runs),
        stats(ok),
    )


def _got(m: RunMetrics) -> tuple[int, int, int, int, int, DurationStats]:
    return (m.total_runs, m.successful_runs, m.failed_runs, m.canceled_runs, m.total_duration_s, m.durations)


def _check(got: RunMetrics, runs: list[Run]) -> None:
    *counts, durations = _got(got)
    *want_counts, want = _expected(runs)
    assert counts == want_counts
    if want.standard_deviation is None:
        assert durations.standard_deviation is None
    else:
        assert durations.standard_deviation == pytest.approx(want.standard_deviation, rel=1e-9, abs=1e-9)
    assert durations == DurationStats(
        want.count, want.min, want.max, want.mean, want.median, want.p95, want.total,
        durations.standard_deviation,
    )  # fmt: skip


def _windows(now: datetime, rng: random.Random) -> list[Window]:
    ends = [now, now - timedelta(hours=rng.uniform(1, 200)), now - timedelta(days=rng.uniform(1, 20))]
    return [Window(end - timedelta(days=days), end) for end in ends for days in (1, 7, 30, 90)]


def _in(
    window: Window, runs: list[Run], *, workflow: str | None = None, branch: str | None = None
) -> list[Run]:
    """The runs in ``window`` (of ``workflow`` and on ``branch`` when given)."""
    return [
        r
        for r in runs
        if window.start <= r.at < window.end and workflow in (None, r.workflow) and branch in (None, r.branch)
    ]


async def test_rollups_equal_a_raw_aggregation(
    store: Store, make_project: MakeProject, write: WriteHistory
) -> None:
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    now = utcnow()
    history = list(synthesize(450, end=now, days=40, seed=seed))
    await make_project("/nonexistent", "gh/acme/app")
    for start in range(0, len(history), 150):  # three transactions: rollup rows are merged and compacted
        await write("gh/acme/app", history[start : start + 150])
    workflow_runs, job_runs = _runs(history)
    async with store.transaction() as tx:
        project = await projects.find_project(tx, "gh/acme/app")
        assert project is not None
        for window in _windows(now, rng):
            for branch in (None, "main"):
                by_name = await reads.workflow_metrics(tx, project.id, window, branch=branch)
                wanted = _in(window, workflow_runs, branch=branch)
                assert [m.name for m in by_name] == sorted({r.workflow for r in wanted}), seed
                for m in by_name:
                    _check(m.metrics, [r for r in wanted if r.workflow == m.name])
                jobs = await reads.job_metrics(tx, project.id, "ci", window, branch=branch)
                wanted = _in(window, job_runs, workflow="ci", branch=branch)
                assert [m.name for m in jobs] == sorted({str(r.job) for r in wanted}), seed
                for m in jobs:
                    _check(m.metrics, [r for r in wanted if r.job == m.name])
            summary = await reads.project_summary(tx, project.id, window)
            wanted = _in(window, workflow_runs)
            _check(summary.project.current, wanted)
            _check(summary.project.previous, _in(window.previous(), workflow_runs))
            for c in summary.workflows:
                _check(c.current, [r for r in wanted if r.workflow == c.name])
            assert len(summary.workflow_branches) == len({(r.workflow, r.branch) for r in wanted})
            for c in summary.workflow_branches:
                _check(c.current, [r for r in wanted if (r.workflow, r.branch) == (c.name, c.branch)])
                previous = _in(window.previous(), workflow_runs)
                _check(c.previous, [r for r in previous if (r.workflow, r.branch) == (c.name, c.branch)])


async def test_hourly_points_equal_a_raw_aggregation(
    store: Store, make_project: MakeProject, write: WriteHistory
) -> None:
    now = utcnow()
    history = list(synthesize(300, end=now, days=2, seed=11))
    await make_project("/nonexistent", "gh/acme/app")
    await write("gh/acme/app", history[:150])
    await write("gh/acme/app", history[150:])
    _, job_runs = _runs(history)
    start = now - timedelta(hours=47, minutes=13)
    async with store.transaction() as tx:
        project = await projects.find_project(tx, "gh/acme/app")
        assert project is not None
        points, _ = await job_timeseries(
            tx, project.id, "ci", branch=None, granularity=Granularity.HOURLY, start=start, end=now,
            page_size=10_000,
        )  # fmt: skip
    wanted = [r for r in job_runs if r.workflow == "ci" and start <= r.at < now]
    assert sum(p.metrics.total_runs for p in points) == len(wanted)
    for p in points:
        hour = [
            r
            for r in wanted
            if r.job == p.name and p.timestamp <= r.at < p.timestamp + timedelta(seconds=HOUR_S)
        ]
        _check(p.metrics, hour)
