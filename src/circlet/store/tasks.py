"""Tasks (one per parallel node of a job): the queue runners claim from, with leases."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict, NotFound
from circlet.model.pipelines import Task
from circlet.model.statuses import JobStatus
from circlet.store._types import utcnow
from circlet.store.rawsql import columns_of, driver, insert_row
from circlet.store.tables import TaskRow
from circlet.types import JobId, TaskId

HOSTED_CLASSES = "*"


def _task(row: Any) -> Task:
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
        await insert_row(
            tx,
            TaskRow,
            id=str(uuid.uuid4()),
            job_id=job_id,
            node_index=index,
            status=JobStatus.QUEUED.value,
            resource_class=resource_class,
            cancel_requested=False,
            created_at=now,
        )


_COLUMNS = columns_of(TaskRow)
_CLAIM_ANY = "resource_class NOT LIKE '%/%'"
_CLAIM_ONE = "resource_class = ?"


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
    db = await driver(tx)
    hosted = resource_class == HOSTED_CLASSES
    now = utcnow()
    row = await db.fetchone(
        f"UPDATE tasks SET status = ?, runner_id = ?, runner_name = ?, lease_id = ?, lease_expires_at = ?,"
        f" started_at = ? WHERE id = (SELECT id FROM tasks WHERE status = ? AND"
        f" {_CLAIM_ANY if hosted else _CLAIM_ONE} ORDER BY created_at LIMIT 1"
        f"{' FOR UPDATE SKIP LOCKED' if db.is_pg else ''}) AND status = ? RETURNING {_COLUMNS.sql}",
        JobStatus.RUNNING.value,
        runner_id,
        runner_name,
        str(uuid.uuid4()),
        db.when(now + timedelta(seconds=lease_s)),
        db.when(now),
        JobStatus.QUEUED.value,
        *(() if hosted else (resource_class,)),
        JobStatus.QUEUED.value,
    )
    return _task(_COLUMNS.read(row)) if row else None


async def get_task(tx: AsyncSession, task_id: str) -> Task:
    db = await driver(tx)
    row = await db.fetchone(f"SELECT {_COLUMNS.sql} FROM tasks WHERE id = ?", task_id)
    if row is None:
        raise NotFound("Task not found.")
    return _task(_COLUMNS.read(row))


async def leased_task(tx: AsyncSession, task_id: str, lease_id: str) -> Task:
    """The running task held under ``lease_id``. Raises Conflict when the lease is gone."""
    task = await get_task(tx, task_id)
    if task.lease_id != lease_id or task.status is not JobStatus.RUNNING:
        raise Conflict("This task's lease is no longer valid.")
    return task


async def renew_lease(tx: AsyncSession, task_id: str, lease_id: str, *, lease_s: float) -> bool:
    """Extend a lease; returns whether cancellation was requested. Raises Conflict for a lost lease."""
    db = await driver(tx)
    row = await db.fetchone(
        "UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND lease_id = ? AND status = ?"
        " RETURNING cancel_requested",
        db.when(utcnow() + timedelta(seconds=lease_s)),
        task_id,
        lease_id,
        JobStatus.RUNNING.value,
    )
    if row is None:
        raise Conflict("This task's lease is no longer valid.")
    return bool(row[0])


async def finish_task(tx: AsyncSession, task_id: str, *, expected: JobStatus, status: JobStatus) -> bool:
    """Compare-and-set a task's final status; False when it was already final."""
    db = await driver(tx)
    changed = await db.execute(
        "UPDATE tasks SET status = ?, stopped_at = ?, lease_expires_at = NULL WHERE id = ? AND status = ?",
        status.value,
        db.when(utcnow()),
        task_id,
        expected.value,
    )
    return changed > 0


async def list_tasks(tx: AsyncSession, job_id: str) -> list[Task]:
    db = await driver(tx)
    rows = await db.fetch(f"SELECT {_COLUMNS.sql} FROM tasks WHERE job_id = ? ORDER BY node_index", job_id)
    return [_task(_COLUMNS.read(r)) for r in rows]


async def request_cancel(tx: AsyncSession, job_id: str) -> None:
    await tx.execute(update(TaskRow).where(TaskRow.job_id == job_id).values(cancel_requested=True))


async def expired_tasks(tx: AsyncSession, now: datetime, *, limit: int = 100) -> list[Task]:
    rows = await tx.scalars(
        select(TaskRow)
        .where(TaskRow.status == JobStatus.RUNNING.value, TaskRow.lease_expires_at < now)
        .limit(limit)
    )
    return [_task(r) for r in rows]
