"""Timings of a task's job from its project's earlier runs, by file, class name and test name
(``circleci tests split --split-by=timings``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.protocol import TaskTimings
from circlet.store import jobs as job_store
from circlet.store import tasks as task_store
from circlet.store import timings as timing_store
from circlet.store.timings import TimedCase


async def task_timings(tx: AsyncSession, task_id: str, lease_id: str) -> TaskTimings:
    """Seconds per file, class name and test name from the job's most recent results."""
    task = await task_store.leased_task(tx, task_id, lease_id)
    job = await job_store.get_job(tx, task.job_id)
    cases = await timing_store.latest_job_cases(tx, job.project_id, job.name)
    return timings_of(cases)


def timings_of(cases: Iterable[TimedCase]) -> TaskTimings:
    by_file: dict[str, float] = {}
    by_class: dict[str, float] = {}
    by_name: dict[str, float] = {}
    for case in cases:
        if case.file:
            key = case.file.removeprefix("./")
            by_file[key] = by_file.get(key, 0.0) + case.run_time_s
        if case.classname:
            by_class[case.classname] = by_class.get(case.classname, 0.0) + case.run_time_s
        if case.name:
            by_name[case.name] = by_name.get(case.name, 0.0) + case.run_time_s
    return TaskTimings(filename=by_file, classname=by_class, testname=by_name)
