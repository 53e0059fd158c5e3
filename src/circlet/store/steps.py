"""Step rows (CircleCI's v1.1 "actions"): one per task and step index."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.pipelines import Step
from circlet.model.statuses import StepStatus
from circlet.store.rawsql import Driver, columns_of, driver
from circlet.store.tables import StepRow
from circlet.types import JobId, TaskId


def _step(row: Any) -> Step:
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
    db = await driver(tx)
    row = {"id": str(uuid.uuid4()), "exit_code": None, "ended_at": None, **values}
    await db.execute(
        f"INSERT INTO steps ({', '.join(_INSERTED)}) VALUES ({', '.join('?' * len(_INSERTED))})"
        " ON CONFLICT (task_id, step_index) DO NOTHING",
        *(_param(db, name, row[name]) for name in _INSERTED),
    )


_INSERTED = (
    "id",
    "task_id",
    "job_id",
    "node_index",
    "step_index",
    "name",
    "type",
    "status",
    "exit_code",
    "started_at",
    "ended_at",
    "output_bytes",
    "truncated",
)


def _param(db: Driver, name: str, value: object) -> object:
    if isinstance(value, datetime):
        return db.when(value)
    if name == "truncated":
        return db.flag(bool(value))
    return value


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
    db = await driver(tx)
    values: dict[str, object] = {"status": status.value, "exit_code": exit_code, "ended_at": ended_at}
    if output_bytes is not None:
        values["output_bytes"] = output_bytes
    if truncated:
        values["truncated"] = True
    await db.execute(
        f"UPDATE steps SET {', '.join(f'{n} = ?' for n in values)}"
        " WHERE task_id = ? AND step_index = ? AND status = ?",
        *(_param(db, n, v) for n, v in values.items()),
        task_id,
        step_index,
        StepStatus.RUNNING.value,
    )


async def set_output_size(
    tx: AsyncSession, *, task_id: str, step_index: int, size: int, truncated: bool, grow_only: bool = False
) -> None:
    """Record a step's output size; with ``grow_only`` never a smaller one than recorded (uploads in
    flight together may be answered out of order). ``truncated`` marks it as cut by the cap (never
    unmarks it)."""
    db = await driver(tx)
    value = "CASE WHEN output_bytes > ? THEN output_bytes ELSE ? END" if grow_only else "?"
    await db.execute(
        f"UPDATE steps SET output_bytes = {value}{', truncated = ?' if truncated else ''}"
        " WHERE task_id = ? AND step_index = ?",
        *((size, size) if grow_only else (size,)),
        *((db.flag(True),) if truncated else ()),
        task_id,
        step_index,
    )


async def finish_running_steps(
    tx: AsyncSession, task_id: str, *, status: StepStatus, ended_at: datetime
) -> None:
    """End every step of a task still running (the runner died or the job was canceled)."""
    db = await driver(tx)
    await db.execute(
        "UPDATE steps SET status = ?, ended_at = ? WHERE task_id = ? AND status = ?",
        status.value,
        db.when(ended_at),
        task_id,
        StepStatus.RUNNING.value,
    )


_COLUMNS = columns_of(StepRow)


async def list_steps(tx: AsyncSession, job_id: str) -> list[Step]:
    db = await driver(tx)
    rows = await db.fetch(
        f"SELECT {_COLUMNS.sql} FROM steps WHERE job_id = ? ORDER BY step_index, node_index", job_id
    )
    return [_step(_COLUMNS.read(r)) for r in rows]


async def get_step(tx: AsyncSession, job_id: str, node_index: int, step_index: int) -> Step | None:
    db = await driver(tx)
    row = await db.fetchone(
        f"SELECT {_COLUMNS.sql} FROM steps WHERE job_id = ? AND node_index = ? AND step_index = ?",
        job_id,
        node_index,
        step_index,
    )
    return _step(_COLUMNS.read(row)) if row else None
