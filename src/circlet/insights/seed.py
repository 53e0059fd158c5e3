"""Writing past runs into the store: pipelines, workflows and jobs rows with chosen times and statuses,
then the same recording functions that ``engine.events`` calls when real runs finish.

``synthesize`` makes a realistic history (several workflows, a busy default branch and short-lived
feature branches, failures and recoveries, reruns of one commit, flaky tests) for ``circlet dev
seed-history`` and the Insights benchmark.
"""

# ruff: noqa: PLR2004  (synthetic-data probabilities)
from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import NotFound
from circlet.insights.recording import JobRun, WorkflowRun, record_job_runs, record_workflow_runs
from circlet.insights.test_results import TestRun, record_test_runs
from circlet.model.accounts import Project
from circlet.model.statuses import JobStatus, WorkflowStatus
from circlet.model.tests import TestCase, TestOutcome
from circlet.store import projects as project_store
from circlet.store.db import Store
from circlet.store.tables import JobRow, PipelineRow, ProjectRow, WorkflowRow

CHUNK = 1_000  # rows per INSERT


@dataclass(frozen=True, kw_only=True, slots=True)
class PastJob:
    name: str
    status: JobStatus
    started_at: datetime
    stopped_at: datetime
    tests: tuple[TestCase, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class PastWorkflow:
    """One pipeline with one workflow that already finished."""

    name: str
    branch: str
    revision: str
    status: WorkflowStatus
    created_at: datetime
    stopped_at: datetime
    jobs: tuple[PastJob, ...] = field(default=())


async def _take_pipeline_numbers(tx: AsyncSession, project: Project, count: int) -> list[int]:
    last = await tx.scalar(
        update(ProjectRow)
        .where(ProjectRow.id == project.id)
        .values(pipeline_seq=ProjectRow.pipeline_seq + count)
        .returning(ProjectRow.pipeline_seq)
    )
    return list(range(int(last or 0) - count + 1, int(last or 0) + 1))


async def write_history(tx: AsyncSession, project: Project, history: Sequence[PastWorkflow]) -> list[str]:
    """Store finished runs and record them for Insights; returns the workflow ids, in order.

    Args:
        tx: the caller's transaction.
        project: the project the runs belong to.
        history: finished workflows, each with its finished jobs and their test cases.
    """
    numbers = await _take_pipeline_numbers(tx, project, len(history))
    job_numbers = iter(
        await project_store.take_job_numbers(tx, project.id, sum(len(w.jobs) for w in history))
    )
    pipelines, workflows, jobs = [], [], []
    workflow_runs, job_runs, test_runs = [], [], []
    ids = []
    for past, number in zip(history, numbers, strict=True):
        pipeline_id, workflow_id = str(uuid.uuid4()), str(uuid.uuid4())
        ids.append(workflow_id)
        pipelines.append(_pipeline_row(project, pipeline_id, number, past))
        workflows.append(_workflow_row(project, pipeline_id, workflow_id, past))
        workflow_runs.append(
            WorkflowRun(
                id=workflow_id, project_id=project.id, workflow_name=past.name, branch=past.branch,
                pipeline_number=number, status=past.status, created_at=past.created_at, stopped_at=past.stopped_at,
            )
        )  # fmt: skip
        for job in past.jobs:
            job_id, job_number = str(uuid.uuid4()), next(job_numbers)
            jobs.append(_job_row(project, pipeline_id, workflow_id, job_id, job_number, job, past))
            job_runs.append(
                JobRun(
                    id=job_id, project_id=project.id, workflow_id=workflow_id, workflow_name=past.name,
                    job_name=job.name, job_number=job_number, branch=past.branch, status=job.status,
                    started_at=job.started_at, stopped_at=job.stopped_at,
                )
            )  # fmt: skip
            if job.tests:
                run = TestRun(
                    project_id=project.id, job_id=job_id, job_number=job_number, job_name=job.name,
                    workflow_id=workflow_id, workflow_name=past.name, workflow_created_at=past.created_at,
                    pipeline_number=number, branch=past.branch, revision=past.revision, created_at=job.stopped_at,
                )  # fmt: skip
                test_runs.append((run, job.tests))
    for table, rows in ((PipelineRow, pipelines), (WorkflowRow, workflows), (JobRow, jobs)):
        for start in range(0, len(rows), CHUNK):
            await tx.execute(insert(cast(Table, table.__table__)), rows[start : start + CHUNK])
    await record_job_runs(tx, job_runs)
    await record_workflow_runs(tx, workflow_runs)
    await record_test_runs(tx, test_runs)
    return ids


def _pipeline_row(project: Project, pipeline_id: str, number: int, past: PastWorkflow) -> dict[str, Any]:
    return {
        "id": pipeline_id,
        "project_id": project.id,
        "number": number,
        "state": "created",
        "created_at": past.created_at,
        "updated_at": past.stopped_at,
        "trigger_type": "webhook",
        "trigger_received_at": past.created_at,
        "actor_id": None,
        "branch": past.branch or None,
        "tag": None,
        "revision": past.revision,
    }


def _workflow_row(project: Project, pipeline_id: str, workflow_id: str, past: PastWorkflow) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "pipeline_id": pipeline_id,
        "project_id": project.id,
        "name": past.name,
        "status": past.status.value,
        "created_at": past.created_at,
        "stopped_at": past.stopped_at,
        "started_by": None,
    }


def _job_row(
    project: Project,
    pipeline_id: str,
    workflow_id: str,
    job_id: str,
    number: int,
    job: PastJob,
    past: PastWorkflow,
) -> dict[str, Any]:
    return {
        "id": job_id,
        "workflow_id": workflow_id,
        "pipeline_id": pipeline_id,
        "project_id": project.id,
        "number": number,
        "name": job.name,
        "type": "build",
        "status": job.status.value,
        "created_at": past.created_at,
        "queued_at": past.created_at,
        "requires": [],
        "requires_statuses": {},
        "contexts": [],
        "definition": {},
        "resource_class": "medium",
        "parallelism": 1,
        "started_at": job.started_at,
        "stopped_at": job.stopped_at,
    }


#: workflow name -> (share of runs, job names with their median duration in seconds, in stage order)
SHAPES: dict[str, tuple[float, tuple[tuple[str, int], ...]]] = {
    "ci": (
        0.7,
        (
            ("checkout", 20), ("lint", 45), ("build", 180), ("unit", 240), ("unit-py312", 250),
            ("integration", 420), ("e2e", 600), ("docs", 60), ("docker", 300), ("security", 90),
            ("coverage", 40), ("publish", 30),
        ),
    ),
    "nightly": (0.1, (("build", 200), ("fuzz", 1800), ("bench", 900), ("soak", 2400), ("report", 30), ("notify", 5))),
    "release": (0.2, (("build", 180), ("sign", 60), ("package", 120), ("upload", 90), ("announce", 10))),
}  # fmt: skip
TESTS = ("test_parse", "test_render", "test_merge", "test_cache_hit", "test_network_retry", "test_timeouts")


def synthesize(count: int, *, end: datetime, days: int = 120, seed: int = 5) -> Iterator[PastWorkflow]:
    """``count`` finished workflows spread evenly over ``days`` before ``end``, oldest first."""
    rng = random.Random(seed)
    step = timedelta(days=days) / max(1, count)
    start = end - timedelta(days=days)
    heads: dict[str, str] = {}
    names, weights = list(SHAPES), [s[0] for s in SHAPES.values()]
    for i in range(count):
        created = start + step * i + timedelta(seconds=rng.random() * step.total_seconds())
        day = int((created - start).total_seconds() // 86_400)
        branch = "main" if rng.random() < 0.4 else f"feature-{day // 3}-{rng.randrange(6)}"
        if branch not in heads or rng.random() > 0.08:  # 8 % are reruns of the branch's last commit
            heads[branch] = hashlib.sha1(f"{seed}/{i}".encode()).hexdigest()
        yield _one_workflow(rng, rng.choices(names, weights)[0], branch, heads[branch], created)


def _one_workflow(
    rng: random.Random, name: str, branch: str, revision: str, created: datetime
) -> PastWorkflow:
    roll = rng.random()
    status = (
        WorkflowStatus.SUCCESS if roll < 0.85
        else WorkflowStatus.FAILED if roll < 0.95
        else WorkflowStatus.CANCELED if roll < 0.98
        else WorkflowStatus.ERROR
    )  # fmt: skip
    shape = SHAPES[name][1]
    stop_at = len(shape) if status is WorkflowStatus.SUCCESS else rng.randrange(1, len(shape) + 1)
    jobs, clock = [], created + timedelta(seconds=rng.randint(2, 20))
    for index, (job_name, median_s) in enumerate(shape[:stop_at]):
        last = index == stop_at - 1
        job_status = JobStatus.SUCCESS
        if last and status is not WorkflowStatus.SUCCESS:
            job_status = {
                WorkflowStatus.FAILED: JobStatus.FAILED,
                WorkflowStatus.CANCELED: JobStatus.CANCELED,
            }.get(status, JobStatus.INFRASTRUCTURE_FAIL)
        duration = max(1.0, rng.lognormvariate(0, 0.35) * median_s)
        stopped = clock + timedelta(seconds=duration)
        tests = _tests(rng, job_status) if job_name == "unit" else ()
        jobs.append(
            PastJob(name=job_name, status=job_status, started_at=clock, stopped_at=stopped, tests=tests)
        )
        clock = stopped if index % 3 == 2 else clock  # jobs run three at a time
    stopped_at = max(j.stopped_at for j in jobs) + timedelta(seconds=1)
    return PastWorkflow(
        name=name, branch=branch, revision=revision, status=status, created_at=created, stopped_at=stopped_at,
        jobs=tuple(jobs),
    )  # fmt: skip


def _tests(rng: random.Random, job_status: JobStatus) -> tuple[TestCase, ...]:
    cases = []
    failing = rng.randrange(len(TESTS)) if job_status is JobStatus.FAILED else -1
    for index, name in enumerate(TESTS):
        flaked = name == "test_network_retry" and rng.random() < 0.1
        result = TestOutcome.FAILURE if index == failing or flaked else TestOutcome.SUCCESS
        cases.append(
            TestCase(
                name=name, classname=f"tests.{name.split('_')[1]}", file=f"tests/test_{name.split('_')[1]}.py",
                result=result, run_time=round(rng.lognormvariate(0, 0.5) * (index + 1) * 0.4, 3),
                message="AssertionError" if result is TestOutcome.FAILURE else None, source="unit",
            )
        )  # fmt: skip
    return tuple(cases)


SEED_BATCH = 2_000  # workflows per transaction


async def seed_project_history(
    store: Store,
    slug: str,
    runs: int,
    *,
    end: datetime,
    days: int = 120,
    seed: int = 5,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``runs`` synthetic workflow runs (about 10 jobs each) for the project ``slug``.

    Commits every ``SEED_BATCH`` workflows; returns the number of job runs written.
    """
    async with store.transaction() as tx:
        project = await project_store.find_project(tx, slug)
    if project is None:
        raise NotFound(f"Project {slug} not found.")
    batch: list[PastWorkflow] = []
    done = jobs = 0
    for past in synthesize(runs, end=end, days=days, seed=seed):
        batch.append(past)
        if len(batch) == SEED_BATCH:
            jobs += await _write_batch(store, project, batch)
            done += len(batch)
            batch = []
            if progress:
                progress(done)
    if batch:
        jobs += await _write_batch(store, project, batch)
        if progress:
            progress(done + len(batch))
    return jobs


async def _write_batch(store: Store, project: Project, batch: list[PastWorkflow]) -> int:
    async with store.transaction() as tx:
        await write_history(tx, project, batch)
    return sum(len(w.jobs) for w in batch)
