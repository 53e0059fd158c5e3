"""Job rows: create, read, list, compare-and-set status."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import InvalidTransition, NotFound
from circlet.model.pipelines import Job
from circlet.model.statuses import JobStatus, JobType
from circlet.store._types import utcnow
from circlet.store.rawsql import Driver, columns_of, driver, insert_row
from circlet.store.tables import JobRow
from circlet.types import JobId, PipelineId, ProjectId, WorkflowId


def _job(row: Any, slug: str) -> Job:
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
    job_id = JobId(str(uuid.uuid4()))
    await insert_row(
        tx,
        JobRow,
        id=job_id,
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
    return job_id


_COLUMNS = columns_of(JobRow, alias="j")
_SELECT = f"SELECT {_COLUMNS.sql}, p.slug FROM jobs j JOIN projects p ON p.id = j.project_id"
_SELECT_LEAN = _SELECT.replace("j.definition", "NULL AS definition", 1)  # same columns, one left empty


async def get_job(tx: AsyncSession, job_id: str) -> Job:
    db = await driver(tx)
    row = await db.fetchone(f"{_SELECT} WHERE j.id = ?", job_id)
    if row is None:
        raise NotFound("Job not found.")
    return _job(_COLUMNS.read(row), row[_COLUMNS.width])


async def get_job_by_number(tx: AsyncSession, project_id: ProjectId, number: int) -> Job:
    db = await driver(tx)
    row = await db.fetchone(f"{_SELECT} WHERE j.project_id = ? AND j.number = ?", project_id, number)
    if row is None:
        raise NotFound("Job not found.")
    return _job(_COLUMNS.read(row), row[_COLUMNS.width])


async def list_workflow_jobs(
    tx: AsyncSession, workflow_id: str, *, with_definition: bool = True
) -> list[Job]:
    """The workflow's jobs as stored now. Without ``with_definition`` their ``definition`` is left
    empty: the compiled job (steps and all) is the largest column, and moving a workflow on never
    needs it."""
    db = await driver(tx)
    select = _SELECT if with_definition else _SELECT_LEAN
    rows = await db.fetch(f"{select} WHERE j.workflow_id = ? ORDER BY j.created_at, j.name", workflow_id)
    return [_job(_COLUMNS.read(r), r[_COLUMNS.width]) for r in rows]


async def set_job_status(
    tx: AsyncSession, job_id: str, *, expected: Iterable[JobStatus], new: JobStatus, **values: Any
) -> dict[str, Any]:
    """Compare-and-set a job's status. Raises InvalidTransition when it is not in ``expected``.
    Returns the columns it set besides ``status`` (timestamps included)."""
    allowed = [s.value for s in expected]
    now = utcnow()
    if new is JobStatus.QUEUED:
        values.setdefault("queued_at", now)
    if new is JobStatus.RUNNING:
        values.setdefault("started_at", now)
    if new.is_final:
        values.setdefault("stopped_at", now)
    db = await driver(tx)
    names = ["status", *values]
    params = [new.value, *(_param(db, name, v) for name, v in values.items())]
    changed = await db.execute(
        f"UPDATE jobs SET {', '.join(f'{n} = ?' for n in names)}"
        f" WHERE id = ? AND status IN ({', '.join('?' * len(allowed))})",
        *params,
        job_id,
        *allowed,
    )
    if changed == 0:
        raise InvalidTransition(entity="job", entity_id=job_id, expected="|".join(allowed), new=new)
    return values


_JSON_COLUMNS = frozenset({"requires", "requires_statuses", "contexts", "definition"})


def _param(db: Driver, name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return db.when(value)
    if name in _JSON_COLUMNS:
        return db.json(value)
    return value
