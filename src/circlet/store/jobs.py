"""Job rows: create, read, list, compare-and-set status."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import InvalidTransition, NotFound
from circlet.model.pipelines import Job
from circlet.model.statuses import JobStatus, JobType
from circlet.store._types import utcnow
from circlet.store.tables import JobRow, ProjectRow
from circlet.types import JobId, PipelineId, ProjectId, WorkflowId


def _job(row: JobRow, slug: str) -> Job:
    return Job(
        id=JobId(row.id),
        workflow_id=WorkflowId(row.workflow_id),
        pipeline_id=PipelineId(row.pipeline_id),
        project_id=ProjectId(row.project_id),
        project_slug=slug,
        number=row.number,
        name=row.name,
        type=JobType(row.type),
        status=JobStatus(row.status),
        requires=tuple(row.requires or ()),
        requires_statuses=row.requires_statuses or {},
        contexts=tuple(row.contexts or ()),
        definition=row.definition or {},
        resource_class=row.resource_class,
        parallelism=row.parallelism,
        created_at=row.created_at,
        queued_at=row.queued_at,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        approval_request_id=row.approval_request_id,
        approved_by=row.approved_by,
        canceled_by=row.canceled_by,
        message=row.message,
    )


def _base() -> Any:
    return select(JobRow, ProjectRow.slug).join(ProjectRow, ProjectRow.id == JobRow.project_id)


async def create_job(
    tx: AsyncSession,
    *,
    workflow_id: WorkflowId,
    pipeline_id: PipelineId,
    project_id: ProjectId,
    number: int | None,
    name: str,
    type: JobType,
    status: JobStatus,
    requires: Sequence[str],
    requires_statuses: Mapping[str, Sequence[str]],
    contexts: Sequence[str],
    definition: Mapping[str, Any],
    resource_class: str,
    parallelism: int,
    created_at: datetime,
) -> JobId:
    row = JobRow(
        id=str(uuid.uuid4()),
        workflow_id=workflow_id,
        pipeline_id=pipeline_id,
        project_id=project_id,
        number=number,
        name=name,
        type=type.value,
        status=status.value,
        requires=list(requires),
        requires_statuses={k: list(v) for k, v in requires_statuses.items()},
        contexts=list(contexts),
        definition=dict(definition),
        resource_class=resource_class,
        parallelism=parallelism,
        created_at=created_at,
        approval_request_id=str(uuid.uuid4()) if type is JobType.APPROVAL else None,
    )
    tx.add(row)
    await tx.flush()
    return JobId(row.id)


async def get_job(tx: AsyncSession, job_id: str) -> Job:
    result = (await tx.execute(_base().where(JobRow.id == job_id))).first()
    if result is None:
        raise NotFound("Job not found.")
    return _job(*result)


async def get_job_by_number(tx: AsyncSession, project_id: ProjectId, number: int) -> Job:
    result = (
        await tx.execute(_base().where(JobRow.project_id == project_id, JobRow.number == number))
    ).first()
    if result is None:
        raise NotFound("Job not found.")
    return _job(*result)


async def list_workflow_jobs(tx: AsyncSession, workflow_id: str) -> list[Job]:
    """The workflow's jobs as stored now (rows this transaction read before are read again: another
    transaction may have committed their changes since)."""
    rows = await tx.execute(
        _base()
        .where(JobRow.workflow_id == workflow_id)
        .order_by(JobRow.created_at, JobRow.name)
        .execution_options(populate_existing=True)
    )
    return [_job(*r) for r in rows]


async def set_job_status(
    tx: AsyncSession, job_id: str, *, expected: Iterable[JobStatus], new: JobStatus, **values: Any
) -> None:
    """Compare-and-set a job's status. Raises InvalidTransition when it is not in ``expected``."""
    allowed = [s.value for s in expected]
    now = utcnow()
    if new is JobStatus.QUEUED:
        values.setdefault("queued_at", now)
    if new is JobStatus.RUNNING:
        values.setdefault("started_at", now)
    if new.is_final:
        values.setdefault("stopped_at", now)
    result = await tx.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status.in_(allowed))
        .values(status=new.value, **values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InvalidTransition(entity="job", entity_id=job_id, expected="|".join(allowed), new=new)
