"""Test timings for ``circleci tests split --split-by=timings``: the test cases of a job's most
recent run that stored test results (read from the Insights ``test_results`` table)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store.tables_insights import TestResultRow


@dataclass(frozen=True, slots=True)
class TimedCase:
    file: str
    classname: str
    name: str
    run_time_s: float


async def latest_job_cases(tx: AsyncSession, project_id: str, job_name: str) -> list[TimedCase]:
    """Every case of the newest run of ``job_name`` in the project that recorded results."""
    latest = await tx.scalar(
        select(TestResultRow.job_id)
        .where(TestResultRow.project_id == project_id, TestResultRow.job_name == job_name)
        .order_by(TestResultRow.created_at.desc(), TestResultRow.id.desc())
        .limit(1)
    )
    if latest is None:
        return []
    rows = await tx.execute(
        select(TestResultRow.file, TestResultRow.classname, TestResultRow.name, TestResultRow.run_time)
        .where(TestResultRow.job_id == latest)
        .order_by(TestResultRow.id)
    )
    return [
        TimedCase(file or "", classname, name, float(run_time)) for file, classname, name, run_time in rows
    ]
