"""The v1.1 "recent builds" query: build jobs of some projects, newest first."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.statuses import JobType
from circlet.store.tables import JobRow, PipelineRow


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
