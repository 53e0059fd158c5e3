"""Schedule rows and the once-only claims of their due times."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict, NotFound
from circlet.model.hooks import AttributionActor, Schedule, Timetable
from circlet.store.pages import DEFAULT_PAGE_SIZE, Page, decode_token, encode_token
from circlet.store.tables import ProjectRow, UserRow
from circlet.store.tables_hooks import ScheduleFiringRow, ScheduleRow
from circlet.types import ProjectId, UserId


def _timetable(raw: Mapping[str, Any]) -> Timetable:
    return Timetable(
        per_hour=int(raw["per-hour"]),
        hours_of_day=tuple(raw.get("hours-of-day", ())),
        days_of_week=tuple(raw.get("days-of-week", ())),
        days_of_month=tuple(raw.get("days-of-month", ())),
        months=tuple(raw.get("months", ())),
    )


def _schedule(row: ScheduleRow, slug: str, login: str | None, name: str | None) -> Schedule:
    return Schedule(
        id=row.id,
        project_id=ProjectId(row.project_id),
        project_slug=slug,
        name=row.name,
        description=row.description,
        timetable=_timetable(row.timetable),
        attribution_actor=AttributionActor(row.attribution_actor),
        actor_id=UserId(row.actor_id) if row.actor_id else None,
        actor_login=login,
        actor_name=name,
        parameters=dict(row.parameters or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _select() -> Any:
    return (
        select(ScheduleRow, ProjectRow.slug, UserRow.login, UserRow.name)
        .join(ProjectRow, ProjectRow.id == ScheduleRow.project_id)
        .outerjoin(UserRow, UserRow.id == ScheduleRow.actor_id)
    )


async def _flush_unique(tx: AsyncSession, name: str) -> None:
    try:
        async with tx.begin_nested():
            await tx.flush()
    except IntegrityError as exc:
        raise Conflict(f"A schedule named {name!r} already exists in this project.") from exc


async def create_schedule(
    tx: AsyncSession,
    *,
    project_id: ProjectId,
    name: str,
    description: str | None,
    timetable: Mapping[str, Any],
    attribution_actor: AttributionActor,
    actor_id: UserId | None,
    parameters: Mapping[str, Any],
    now: datetime,
) -> Schedule:
    """Insert a schedule. Raises Conflict when the project already has one of that name."""
    row = ScheduleRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=name,
        description=description,
        timetable=dict(timetable),
        attribution_actor=attribution_actor.value,
        actor_id=actor_id,
        parameters=dict(parameters),
        created_at=now,
        updated_at=now,
    )
    tx.add(row)
    await _flush_unique(tx, name)
    return await get_schedule(tx, row.id)


async def update_schedule(tx: AsyncSession, schedule_id: str, *, now: datetime, **values: Any) -> Schedule:
    """Set columns (name, description, timetable, attribution_actor, actor_id, parameters)."""
    if isinstance(values.get("attribution_actor"), AttributionActor):
        values["attribution_actor"] = values["attribution_actor"].value
    try:
        async with tx.begin_nested():
            await tx.execute(
                update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(updated_at=now, **values)
            )
    except IntegrityError as exc:
        raise Conflict(f"A schedule named {values.get('name')!r} already exists in this project.") from exc
    return await get_schedule(tx, schedule_id)


async def delete_schedule(tx: AsyncSession, schedule_id: str) -> None:
    await tx.execute(delete(ScheduleRow).where(ScheduleRow.id == schedule_id))


async def get_schedule(tx: AsyncSession, schedule_id: str) -> Schedule:
    result = (await tx.execute(_select().where(ScheduleRow.id == schedule_id))).first()
    if result is None:
        raise NotFound("Schedule not found.")
    return _schedule(*result)


async def list_schedules(
    tx: AsyncSession, project_id: ProjectId, *, page_token: str | None, limit: int = DEFAULT_PAGE_SIZE
) -> Page[Schedule]:
    """A project's schedules, oldest first."""
    query = _select().where(ScheduleRow.project_id == project_id)
    key = decode_token(page_token)
    if key is not None:
        query = query.where(
            tuple_(ScheduleRow.created_at, ScheduleRow.id) > (datetime.fromisoformat(str(key[0])), key[-1])
        )
    rows = (await tx.execute(query.order_by(ScheduleRow.created_at, ScheduleRow.id).limit(limit + 1))).all()
    items = [_schedule(*r) for r in rows[:limit]]
    token = encode_token([items[-1].created_at.isoformat(), items[-1].id]) if len(rows) > limit else None
    return Page(items=items, next_page_token=token)


async def timetables(tx: AsyncSession) -> list[tuple[str, Timetable, datetime]]:
    """``(id, timetable, updated_at)`` of every schedule: what a firing pass needs, read cheaply."""
    rows = await tx.execute(
        select(ScheduleRow.id, ScheduleRow.timetable, ScheduleRow.updated_at).order_by(ScheduleRow.id)
    )
    return [(r[0], _timetable(r[1]), r[2]) for r in rows]


async def claim_firing(tx: AsyncSession, schedule_id: str, due_at: datetime, *, now: datetime) -> str | None:
    """Claim ``due_at`` of a schedule; None when it is already claimed (here or by another server).

    On PostgreSQL a concurrent claimer of the same key waits on the unique index until the first
    commits, then inserts nothing; on SQLite the write transactions are serialized.
    """
    firing_id = str(uuid.uuid4())
    insert = pg_insert if tx.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ScheduleFiringRow)
        .values(id=firing_id, schedule_id=schedule_id, due_at=due_at, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
        .returning(ScheduleFiringRow.id)
    )
    return await tx.scalar(statement)


async def record_firing(
    tx: AsyncSession, firing_id: str, *, pipeline_id: str | None = None, error: str | None = None
) -> None:
    await tx.execute(
        update(ScheduleFiringRow)
        .where(ScheduleFiringRow.id == firing_id)
        .values(pipeline_id=pipeline_id, error=error)
    )


async def firings(tx: AsyncSession, schedule_id: str) -> list[tuple[datetime, str | None, str | None]]:
    """``(due_at, pipeline_id, error)`` of every claimed due time, oldest first."""
    rows = await tx.execute(
        select(ScheduleFiringRow.due_at, ScheduleFiringRow.pipeline_id, ScheduleFiringRow.error)
        .where(ScheduleFiringRow.schedule_id == schedule_id)
        .order_by(ScheduleFiringRow.due_at)
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def prune_firings(tx: AsyncSession, before: datetime) -> int:
    """Delete claims of due times before ``before`` (long past any grace window)."""
    result = await tx.execute(delete(ScheduleFiringRow).where(ScheduleFiringRow.due_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
