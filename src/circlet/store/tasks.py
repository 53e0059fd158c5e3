"""Tasks (one per parallel node of a job): the queue runners claim from, with leases."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict, NotFound
from circlet.model.pipelines import Task
from circlet.model.statuses import JobStatus
from circlet.store._types import utcnow
from circlet.store.tables import TaskRow
from circlet.types import JobId, TaskId

HOSTED_CLASSES = "*"


def _task(row: TaskRow) -> Task:
    return Task(
        id=TaskId(row.id),
        job_id=JobId(row.job_id),
        node_index=row.node_index,
        status=JobStatus(row.status),
        resource_class=row.resource_class,
        runner_name=row.runner_name,
        lease_id=row.lease_id,
        lease_expires_at=row.lease_expires_at,
        cancel_requested=row.cancel_requested,
        created_at=row.created_at,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
    )


async def create_tasks(tx: AsyncSession, job_id: JobId, *, count: int, resource_class: str) -> None:
    now = utcnow()
    for index in range(count):
        tx.add(
            TaskRow(
                id=str(uuid.uuid4()),
                job_id=job_id,
                node_index=index,
                status=JobStatus.QUEUED.value,
                resource_class=resource_class,
                cancel_requested=False,
                created_at=now,
            )
        )
    await tx.flush()


async def claim_task(
    tx: AsyncSession, *, resource_class: str, runner_id: str, runner_name: str, lease_s: float
) -> Task | None:
    """Lease the oldest queued task of ``resource_class``.

    ``HOSTED_CLASSES`` (``*``) matches every class without a namespace (``small``, ``medium``,
    ``arm.large``...): the classes CircleCI runs on its own machines, which circlet's built-in runners take.

    On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers
    take different rows; on SQLite the transaction already holds the write lock (``BEGIN IMMEDIATE``).
    The update is still a compare-and-set on ``status``, so a task is never leased twice.
    """
    matches: ColumnElement[bool]
    if resource_class == HOSTED_CLASSES:
        matches = TaskRow.resource_class.not_like("%/%")
    else:
        matches = TaskRow.resource_class == resource_class
    candidate = (
        select(TaskRow.id)
        .where(TaskRow.status == JobStatus.QUEUED.value, matches)
        .order_by(TaskRow.created_at)
        .limit(1)
    )
    if tx.get_bind().dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    now = utcnow()
    row = await tx.scalar(  # one statement: the candidate is a subquery of the update
        update(TaskRow)
        .where(TaskRow.id == candidate.scalar_subquery(), TaskRow.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value,
            runner_id=runner_id,
            runner_name=runner_name,
            lease_id=str(uuid.uuid4()),
            lease_expires_at=now + timedelta(seconds=lease_s),
            started_at=now,
        )
        .returning(TaskRow)
    )
    return _task(row) if row else None


async def get_task(tx: AsyncSession, task_id: str) -> Task:
    row = await tx.get(TaskRow, task_id)
    if row is None:
        raise NotFound("Task not found.")
    return _task(row)


async def leased_task(tx: AsyncSession, task_id: str, lease_id: str) -> Task:
    """The running task held under ``lease_id``. Raises Conflict when the lease is gone."""
    task = await get_task(tx, task_id)
    if task.lease_id != lease_id or task.status is not JobStatus.RUNNING:
        raise Conflict("This task's lease is no longer valid.")
    return task


async def renew_lease(tx: AsyncSession, task_id: str, lease_id: str, *, lease_s: float) -> bool:
    """Extend a lease; returns whether cancellation was requested. Raises Conflict for a lost lease."""
    row = await tx.scalar(
        update(TaskRow)
        .where(TaskRow.id == task_id, TaskRow.lease_id == lease_id, TaskRow.status == JobStatus.RUNNING.value)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        .returning(TaskRow.cancel_requested)
    )
    if row is None:
        raise Conflict("This task's lease is no longer valid.")
    return bool(row)


async def finish_task(tx: AsyncSession, task_id: str, *, expected: JobStatus, status: JobStatus) -> bool:
    """Compare-and-set a task's final status; False when it was already final."""
    result = await tx.execute(
        update(TaskRow)
        .where(TaskRow.id == task_id, TaskRow.status == expected.value)
        .values(status=status.value, stopped_at=utcnow(), lease_expires_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_tasks(tx: AsyncSession, job_id: str) -> list[Task]:
    rows = await tx.scalars(select(TaskRow).where(TaskRow.job_id == job_id).order_by(TaskRow.node_index))
    return [_task(r) for r in rows]


async def request_cancel(tx: AsyncSession, job_id: str) -> None:
    await tx.execute(update(TaskRow).where(TaskRow.job_id == job_id).values(cancel_requested=True))


async def expired_tasks(tx: AsyncSession, now: datetime, *, limit: int = 100) -> list[Task]:
    rows = await tx.scalars(
        select(TaskRow)
        .where(TaskRow.status == JobStatus.RUNNING.value, TaskRow.lease_expires_at < now)
        .limit(limit)
    )
    return [_task(r) for r in rows]
