"""Test metrics over a workflow's 10 most recent runs, and the project's flaky tests."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights.durations import float_percentile
from circlet.insights.queries import WF_RUNS, _table
from circlet.insights.test_results import FLAKY_FOR, flaky_key
from circlet.model.tests import TestOutcome
from circlet.store.tables_insights import FlakyTestRow, TestResultRow

RECENT_RUNS = 10  #: CircleCI computes test metrics over the 10 most recent workflow runs
#: ``test_runs`` and ``average_test_count`` cover the runs among them that reported test results.
TOP = 10  #: tests listed in most_failed_tests and slowest_tests; the rest are counted in *_extra
TESTS, FLAKY = _table(TestResultRow), _table(FlakyTestRow)


@dataclass(frozen=True, kw_only=True, slots=True)
class TestSummary:
    __test__ = False

    test_name: str
    classname: str
    file: str | None
    source: str | None
    job_name: str
    total_runs: int
    failed_runs: int
    p95_duration: float | None
    flaky: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowTestRun:
    workflow_id: str
    pipeline_number: int
    counts: dict[str, int]  #: success, failure, skipped, error, total

    @property
    def success_rate(self) -> float:
        counted = self.counts["total"] - self.counts["skipped"]
        return self.counts["success"] / counted if counted else 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class TestMetrics:
    __test__ = False

    average_test_count: int
    total_test_runs: int
    most_failed: tuple[TestSummary, ...]
    most_failed_extra: int
    slowest: tuple[TestSummary, ...]
    slowest_extra: int
    runs: tuple[WorkflowTestRun, ...]


@dataclass
class _Acc:
    file: str | None
    source: str | None
    total: int = 0
    failed: int = 0
    times: list[float] = field(default_factory=list)


async def test_metrics(
    tx: AsyncSession, project_id: str, workflow_name: str, *, branch: str | None, now: datetime
) -> TestMetrics:
    query = select(WF_RUNS.c.id, WF_RUNS.c.pipeline_number).where(
        WF_RUNS.c.project_id == project_id, WF_RUNS.c.workflow_name == workflow_name
    )
    if branch is not None:
        query = query.where(WF_RUNS.c.branch == branch)
    recent = (await tx.execute(query.order_by(WF_RUNS.c.created_at.desc()).limit(RECENT_RUNS))).all()
    ids = [r[0] for r in recent]
    rows = (
        await tx.execute(
            select(
                TESTS.c.workflow_id, TESTS.c.job_name, TESTS.c.classname, TESTS.c.name,
                TESTS.c.file, TESTS.c.source, TESTS.c.result, TESTS.c.run_time,
            ).where(TESTS.c.workflow_id.in_(ids))
        )
    ).all()  # fmt: skip
    flaky = await _flaky_keys(tx, project_id, now)
    per_run: dict[str, Counter[str]] = {i: Counter() for i in ids}
    tests: dict[tuple[str, str, str], _Acc] = {}
    for workflow_id, job, classname, name, file, source, result, run_time in rows:
        per_run[workflow_id][result] += 1
        acc = tests.setdefault((job, classname, name), _Acc(file, source))
        acc.total += 1
        acc.failed += TestOutcome(result).is_failure
        acc.times.append(run_time)
    summaries = [
        TestSummary(
            test_name=name,
            classname=classname,
            file=acc.file,
            source=acc.source,
            job_name=job,
            total_runs=acc.total,
            failed_runs=acc.failed,
            p95_duration=float_percentile(acc.times, 95),
            flaky=flaky_key(project_id, workflow_name, job, classname, name) in flaky,
        )
        for (job, classname, name), acc in tests.items()
    ]
    failing = sorted((s for s in summaries if s.failed_runs), key=lambda s: (-s.failed_runs, s.test_name))
    slowest = sorted(summaries, key=lambda s: (-(s.p95_duration or 0.0), s.test_name))
    runs = tuple(
        WorkflowTestRun(
            workflow_id=wid,
            pipeline_number=number,
            counts={o.value: per_run[wid][o.value] for o in TestOutcome}
            | {"total": sum(per_run[wid].values())},
        )
        for wid, number in recent
        if per_run[wid]
    )
    return TestMetrics(
        average_test_count=math.floor(len(rows) / len(runs) + 0.5) if runs else 0,
        total_test_runs=len(rows),
        most_failed=tuple(failing[:TOP]),
        most_failed_extra=max(0, len(failing) - TOP),
        slowest=tuple(slowest[:TOP]),
        slowest_extra=max(0, len(slowest) - TOP),
        runs=runs,
    )


async def _flaky_keys(tx: AsyncSession, project_id: str, now: datetime) -> set[str]:
    query = select(FLAKY.c.test_key).where(
        FLAKY.c.project_id == project_id, FLAKY.c.last_flaked_at >= now - FLAKY_FOR, FLAKY.c.times_flaked > 0
    )
    return set((await tx.execute(query)).scalars().all())


@dataclass(frozen=True, kw_only=True, slots=True)
class FlakyTest:
    test_name: str
    classname: str
    file: str | None
    source: str | None
    job_name: str
    job_number: int | None
    workflow_name: str
    workflow_id: str
    workflow_created_at: datetime
    pipeline_number: int
    times_flaked: int
    time_wasted_s: float
    last_flaked_at: datetime


async def flaky_tests(tx: AsyncSession, project_id: str, now: datetime) -> list[FlakyTest]:
    """Tests that flaked within the last 14 days, most flakes first."""
    f = FLAKY
    query = (
        select(
            f.c.name.label("test_name"), f.c.classname, f.c.file, f.c.source, f.c.job_name, f.c.job_number, f.c.workflow_name,
            f.c.workflow_id, f.c.workflow_created_at, f.c.pipeline_number, f.c.times_flaked,
            f.c.time_wasted_s, f.c.last_flaked_at,
        )
        .where(f.c.project_id == project_id, f.c.last_flaked_at >= now - FLAKY_FOR, f.c.times_flaked > 0)
        .order_by(f.c.times_flaked.desc(), f.c.name, f.c.classname, f.c.id)
    )  # fmt: skip
    return [FlakyTest(**row._mapping) for row in (await tx.execute(query)).all()]
