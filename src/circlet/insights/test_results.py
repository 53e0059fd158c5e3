"""Recording a job's test results, and spotting flaky tests as they are recorded.

A flake is a flip: a test's result on a commit differs (passed vs failed/errored) from its previous
result on the same commit within the last 14 days. Skipped results are ignored. A flaky test stays
listed until 14 days pass without a flake; a flake after such a gap starts its count again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights import _sql
from circlet.model.pipelines import Job
from circlet.model.tests import TestCase, TestOutcome
from circlet.store import pipelines as pipeline_store
from circlet.store import workflows as workflow_store
from circlet.store._types import utcnow
from circlet.store.tables_insights import FlakyTestRow, TestResultRow

FLAKY_FOR = timedelta(days=14)


@dataclass(frozen=True, kw_only=True, slots=True)
class TestRun:
    """The job run a batch of test cases belongs to."""

    __test__ = False

    project_id: str
    job_id: str
    job_number: int | None
    job_name: str
    workflow_id: str
    workflow_name: str
    workflow_created_at: datetime
    pipeline_number: int
    branch: str
    revision: str
    created_at: datetime  #: when the results were recorded (the job's stop time)


async def record_test_results(tx: AsyncSession, job: Job, cases: Sequence[TestCase]) -> None:
    """Store ``job``'s test cases (one row each) and update the flaky-test list, in ``tx``.

    Args:
        tx: the caller's transaction.
        job: the job whose results these are (its workflow and pipeline give name, branch and commit).
        cases: the parsed JUnit test cases.
    """
    workflow = await workflow_store.get_workflow(tx, job.workflow_id)
    pipeline = await pipeline_store.get_pipeline(tx, job.pipeline_id)
    run = TestRun(
        project_id=job.project_id,
        job_id=job.id,
        job_number=job.number,
        job_name=job.name,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        workflow_created_at=workflow.created_at,
        pipeline_number=workflow.pipeline_number,
        branch=pipeline.branch or "",
        revision=pipeline.revision,
        created_at=job.stopped_at or utcnow(),
    )
    await record_test_runs(tx, [(run, cases)])


async def record_test_runs(tx: AsyncSession, batches: Sequence[tuple[TestRun, Sequence[TestCase]]]) -> None:
    """Record many jobs' results at once (what ``record_test_results`` and the history seeder use)."""
    ordered = sorted(batches, key=lambda b: b[0].created_at)
    if not ordered:
        return
    previous = await _previous_results(tx, ordered)
    flakes: dict[str, list[tuple[TestRun, TestCase, float]]] = {}
    for run, cases in ordered:
        for case in cases:
            if case.result is TestOutcome.SKIPPED:
                continue
            key = flaky_key(run.project_id, run.workflow_name, run.job_name, case.classname, case.name)
            last = previous.get((run.revision, key))
            failed = case.result.is_failure
            if last is not None and last[0] != failed and last[2] >= run.created_at - FLAKY_FOR:
                wasted = case.run_time if failed else last[1]
                flakes.setdefault(key, []).append((run, case, wasted))
            previous[(run.revision, key)] = (failed, case.run_time, run.created_at)
    rows = [_result_row(run, case) for run, cases in ordered for case in cases]
    for start in range(0, len(rows), _sql.CHUNK):
        await tx.execute(_table(TestResultRow).insert(), rows[start : start + _sql.CHUNK])
    await _record_flakes(tx, flakes)


def flaky_key(project_id: str, workflow_name: str, job_name: str, classname: str, name: str) -> str:
    raw = "\0".join((project_id, workflow_name, job_name, classname, name))
    return hashlib.sha256(raw.encode()).hexdigest()


def _table(row: type[Any]) -> Table:
    table: Table = row.__table__
    return table


async def _previous_results(
    tx: AsyncSession, ordered: Sequence[tuple[TestRun, Sequence[TestCase]]]
) -> dict[tuple[str, str], tuple[bool, float, datetime]]:
    """The latest earlier non-skipped result of each test on each commit in the batch."""
    t = _table(TestResultRow)
    projects = sorted({run.project_id for run, _ in ordered})
    revisions = sorted({run.revision for run, _ in ordered})
    since = ordered[0][0].created_at - FLAKY_FOR
    query = (
        select(t.c.project_id, t.c.revision, t.c.workflow_name, t.c.job_name, t.c.classname, t.c.name)
        .add_columns(t.c.result, t.c.run_time, t.c.created_at)
        .where(t.c.project_id.in_(projects), t.c.revision.in_(revisions), t.c.created_at >= since)
        .where(t.c.result != TestOutcome.SKIPPED.value)
        .order_by(t.c.created_at, t.c.id)
    )
    latest: dict[tuple[str, str], tuple[bool, float, datetime]] = {}
    for project, revision, wf, job, classname, name, result, run_time, at in (await tx.execute(query)).all():
        failed = TestOutcome(result).is_failure
        latest[(revision, flaky_key(project, wf, job, classname, name))] = (failed, run_time, at)
    return latest


def _result_row(run: TestRun, case: TestCase) -> dict[str, Any]:
    return {
        "project_id": run.project_id,
        "job_id": run.job_id,
        "job_number": run.job_number,
        "workflow_id": run.workflow_id,
        "workflow_name": run.workflow_name,
        "job_name": run.job_name,
        "branch": run.branch,
        "revision": run.revision,
        "name": case.name,
        "classname": case.classname,
        "file": case.file,
        "result": case.result.value,
        "message": case.message,
        "run_time": float(case.run_time),
        "source": case.source,
        "created_at": run.created_at,
    }


async def _record_flakes(tx: AsyncSession, flakes: dict[str, list[tuple[TestRun, TestCase, float]]]) -> None:
    if not flakes:
        return
    t = _table(FlakyTestRow)
    skeletons = [_skeleton(key, events[0]) for key, events in flakes.items()]
    await _sql.insert_ignore(tx, t, skeletons)
    query = (
        select(t.c.test_key, t.c.times_flaked, t.c.time_wasted_s, t.c.last_flaked_at)
        .where(t.c.test_key.in_(sorted(flakes)))
        .with_for_update()
    )
    updates = []
    for key, stored_times, stored_wasted, stored_last in (await tx.execute(query)).all():
        counts = _count_flakes(flakes[key], stored_times, stored_wasted, stored_last)
        run, case, _ = flakes[key][-1]
        updates.append(_flake_values(key, run, case) | counts)
    stmt = (
        update(t)
        .where(t.c.test_key == bindparam("k"))
        .values(
            times_flaked=bindparam("t"),
            time_wasted_s=bindparam("tw"),
            last_flaked_at=bindparam("at"),
            file=bindparam("f"),
            source=bindparam("s"),
            workflow_id=bindparam("wid"),
            workflow_created_at=bindparam("wat"),
            pipeline_number=bindparam("pn"),
            job_number=bindparam("jn"),
        )
    )
    await tx.execute(stmt, updates)


def _count_flakes(
    events: list[tuple[TestRun, TestCase, float]], times: int, wasted: float, last: datetime
) -> dict[str, Any]:
    for run, _case, event_wasted in events:
        if times and last < run.created_at - FLAKY_FOR:
            times, wasted = 0, 0.0  # the test had stopped being flaky; this flake starts a new count
        times, wasted, last = times + 1, wasted + event_wasted, max(last, run.created_at)
    return {"t": times, "tw": wasted, "at": last}


def _flake_values(key: str, run: TestRun, case: TestCase) -> dict[str, Any]:
    return {
        "k": key,
        "f": case.file,
        "s": case.source,
        "wid": run.workflow_id,
        "wat": run.workflow_created_at,
        "pn": run.pipeline_number,
        "jn": run.job_number,
    }


def _skeleton(key: str, event: tuple[TestRun, TestCase, float]) -> dict[str, Any]:
    run, case, _ = event
    return {
        "project_id": run.project_id,
        "test_key": key,
        "workflow_name": run.workflow_name,
        "job_name": run.job_name,
        "classname": case.classname,
        "name": case.name,
        "file": case.file,
        "source": case.source,
        "times_flaked": 0,
        "time_wasted_s": 0.0,
        "last_flaked_at": run.created_at,
        "workflow_id": run.workflow_id,
        "workflow_created_at": run.workflow_created_at,
        "pipeline_number": run.pipeline_number,
        "job_number": run.job_number,
    }
