"""Step rows (CircleCI's v1.1 "actions"): one per task and step index."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.pipelines import Step
from circlet.model.statuses import StepStatus
from circlet.store._upsert import insert_for, table_of
from circlet.store.tables import StepRow
from circlet.types import JobId, TaskId


def _step(row: StepRow) -> Step:
    return Step(
        task_id=TaskId(row.task_id),
        job_id=JobId(row.job_id),
        node_index=row.node_index,
        step_index=row.step_index,
        name=row.name,
        type=row.type,
        status=StepStatus(row.status),
        exit_code=row.exit_code,
        started_at=row.started_at,
        ended_at=row.ended_at,
        output_bytes=row.output_bytes,
        truncated=row.truncated,
    )


async def start_step(
    tx: AsyncSession,
    *,
    task_id: str,
    job_id: str,
    node_index: int,
    step_index: int,
    name: str,
    type: str,
    started_at: datetime,
) -> None:
    """Record a step start; a repeated start (a retried request) is ignored."""
    await _insert_step(
        tx,
        task_id=task_id,
        job_id=job_id,
        node_index=node_index,
        step_index=step_index,
        name=name,
        type=type,
        status=StepStatus.RUNNING.value,
        started_at=started_at,
        output_bytes=0,
        truncated=False,
    )


async def record_step(
    tx: AsyncSession,
    *,
    task_id: str,
    job_id: str,
    node_index: int,
    step_index: int,
    name: str,
    type: str,
    started_at: datetime,
    status: StepStatus,
    exit_code: int | None,
    ended_at: datetime,
    output_bytes: int,
    truncated: bool,
) -> None:
    """Record a step that started and ended (one statement); a repeated record is ignored."""
    await _insert_step(
        tx,
        task_id=task_id,
        job_id=job_id,
        node_index=node_index,
        step_index=step_index,
        name=name,
        type=type,
        status=status.value,
        exit_code=exit_code,
        started_at=started_at,
        ended_at=ended_at,
        output_bytes=output_bytes,
        truncated=truncated,
    )


async def _insert_step(tx: AsyncSession, **values: object) -> None:
    """Insert one step row unless the task already has that step (a retried request)."""
    await tx.execute(
        insert_for(tx, table_of(StepRow))
        .values(id=str(uuid.uuid4()), **values)
        .on_conflict_do_nothing(index_elements=["task_id", "step_index"])
    )


async def finish_step(
    tx: AsyncSession,
    *,
    task_id: str,
    step_index: int,
    status: StepStatus,
    exit_code: int | None,
    ended_at: datetime,
    output_bytes: int | None = None,
    truncated: bool = False,
) -> None:
    """End a running step; ``output_bytes`` (when given) is its final output size, and ``truncated``
    marks its output as cut by the cap (never unmarks it)."""
    values: dict[str, object] = {"status": status.value, "exit_code": exit_code, "ended_at": ended_at}
    if output_bytes is not None:
        values["output_bytes"] = output_bytes
    if truncated:
        values["truncated"] = True
    await tx.execute(
        update(StepRow)
        .where(
            StepRow.task_id == task_id,
            StepRow.step_index == step_index,
            StepRow.status == StepStatus.RUNNING.value,
        )
        .values(**values)
    )


async def set_output_size(
    tx: AsyncSession, *, task_id: str, step_index: int, size: int, truncated: bool
) -> None:
    """Record a step's output size; ``truncated`` marks it as cut by the cap (never unmarks it)."""
    values: dict[str, object] = {"output_bytes": size}
    if truncated:
        values["truncated"] = True
    await tx.execute(
        update(StepRow).where(StepRow.task_id == task_id, StepRow.step_index == step_index).values(**values)
    )


async def finish_running_steps(
    tx: AsyncSession, task_id: str, *, status: StepStatus, ended_at: datetime
) -> None:
    """End every step of a task still running (the runner died or the job was canceled)."""
    await tx.execute(
        update(StepRow)
        .where(StepRow.task_id == task_id, StepRow.status == StepStatus.RUNNING.value)
        .values(status=status.value, ended_at=ended_at)
    )


async def list_steps(tx: AsyncSession, job_id: str) -> list[Step]:
    rows = await tx.scalars(
        select(StepRow).where(StepRow.job_id == job_id).order_by(StepRow.step_index, StepRow.node_index)
    )
    return [_step(r) for r in rows]


async def get_step(tx: AsyncSession, job_id: str, node_index: int, step_index: int) -> Step | None:
    row = await tx.scalar(
        select(StepRow).where(
            StepRow.job_id == job_id, StepRow.node_index == node_index, StepRow.step_index == step_index
        )
    )
    return _step(row) if row else None
