"""The v1.1 queries: build jobs of some projects (newest first) and a job's recorded test cases."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.statuses import JobType
from circlet.model.tests import TestCase, TestOutcome
from circlet.store.tables import JobRow, PipelineRow
from circlet.store.tables_insights import TestResultRow


async def recent_job_ids(
    tx: AsyncSession,
    project_ids: Collection[str],
    *,
    branch: str | None = None,
    statuses: Collection[str] | None = None,
    limit: int = 30,
    offset: int = 0,
) -> list[str]:
    """Ids of numbered (build) jobs, newest first, optionally of one branch and some statuses."""
    if not project_ids:
        return []
    query = (
        select(JobRow.id)
        .join(PipelineRow, PipelineRow.id == JobRow.pipeline_id)
        .where(JobRow.project_id.in_(project_ids), JobRow.type == JobType.BUILD.value)
        .where(JobRow.number.is_not(None))
    )
    if branch is not None:
        query = query.where(PipelineRow.branch == branch)
    if statuses is not None:
        query = query.where(JobRow.status.in_(statuses))
    query = query.order_by(JobRow.created_at.desc(), JobRow.number.desc()).limit(limit).offset(offset)
    return list(await tx.scalars(query))


async def job_test_cases(tx: AsyncSession, job_id: str) -> list[TestCase]:
    """The test cases recorded for a job (``store_test_results``), in file and name order."""
    rows = await tx.scalars(
        select(TestResultRow)
        .where(TestResultRow.job_id == job_id)
        .order_by(TestResultRow.classname, TestResultRow.name, TestResultRow.id)
    )
    return [
        TestCase(
            name=r.name,
            classname=r.classname,
            file=r.file,
            result=TestOutcome(r.result),
            message=r.message,
            run_time=r.run_time,
            source=r.source,
        )
        for r in rows
    ]
