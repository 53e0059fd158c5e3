"""Pipeline rows: create, read, list (newest first, keyset pages)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from circlet.errors import NotFound
from circlet.model.pipelines import Pipeline
from circlet.model.statuses import PipelineState
from circlet.store._types import utcnow
from circlet.store.pages import DEFAULT_PAGE_SIZE, Page, decode_token, encode_token
from circlet.store.rawsql import columns_of, driver, insert_row, table_columns
from circlet.store.tables import PipelineRow, ProjectRow, UserRow
from circlet.types import PipelineId, ProjectId, UserId

_COLUMNS = (PipelineRow, ProjectRow.slug, UserRow.login, UserRow.avatar_url)
#: The config texts (often tens of kB each) a list leaves unread unless asked for them.
_CONFIG_TEXTS = (
    PipelineRow.config_source,
    PipelineRow.config_compiled,
    PipelineRow.setup_config,
    PipelineRow.setup_config_compiled,
)


def _pipeline(row: Any, slug: str, login: str | None, avatar: str | None, *, config: bool = True) -> Pipeline:
    """The model of a row; without ``config`` its config texts are left empty (they were not read)."""
    return Pipeline(
        id=PipelineId(row.id),
        project_id=ProjectId(row.project_id),
        project_slug=slug,
        number=row.number,
        state=PipelineState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        trigger_type=row.trigger_type,
        trigger_received_at=row.trigger_received_at,
        actor_id=UserId(row.actor_id) if row.actor_id else None,
        actor_login=login or "system",
        actor_avatar_url=avatar,
        branch=row.branch,
        tag=row.tag,
        revision=row.revision,
        vcs=row.vcs or {},
        parameters=row.parameters or {},
        trigger_parameters=row.trigger_parameters or {},
        errors=row.errors or [],
        config_source=row.config_source if config else "",
        config_compiled=row.config_compiled if config else "",
        setup_config=row.setup_config if config else "",
        setup_config_compiled=row.setup_config_compiled if config else "",
    )


def _base() -> Any:
    return (
        select(*_COLUMNS)
        .join(ProjectRow, ProjectRow.id == PipelineRow.project_id)
        .outerjoin(UserRow, UserRow.id == PipelineRow.actor_id)
    )


async def create_pipeline(
    tx: AsyncSession,
    *,
    project_id: ProjectId,
    number: int,
    trigger_type: str,
    actor_id: UserId | None,
    branch: str | None,
    tag: str | None,
    revision: str,
    vcs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    trigger_parameters: Mapping[str, Any],
    received_at: datetime,
) -> PipelineId:
    now = utcnow()
    pipeline_id = PipelineId(str(uuid.uuid4()))
    await insert_row(
        tx,
        PipelineRow,
        id=pipeline_id,
        project_id=project_id,
        number=number,
        state=PipelineState.PENDING.value,
        created_at=now,
        updated_at=now,
        trigger_type=trigger_type,
        trigger_received_at=received_at,
        actor_id=actor_id,
        branch=branch,
        tag=tag,
        revision=revision,
        vcs=dict(vcs),
        parameters=dict(parameters),
        trigger_parameters=dict(trigger_parameters),
        errors=[],
        config_source="",
        config_compiled="",
        setup_config="",
        setup_config_compiled="",
        continued=False,
    )
    return pipeline_id


async def update_pipeline(tx: AsyncSession, pipeline_id: PipelineId, **values: Any) -> None:
    """Set columns of a pipeline (state, errors, config_source, config_compiled, parameters...)."""
    values["updated_at"] = utcnow()
    if isinstance(values.get("state"), PipelineState):
        values["state"] = values["state"].value
    db = await driver(tx)
    columns = table_columns(PipelineRow.__table__)
    await db.execute(
        f"UPDATE pipelines SET {', '.join(f'{name} = ?' for name in values)} WHERE id = ?",
        *(columns.param(db, name, value) for name, value in values.items()),
        pipeline_id,
    )


async def touch_pipeline(tx: AsyncSession, pipeline_id: str) -> None:
    db = await driver(tx)
    await db.execute("UPDATE pipelines SET updated_at = ? WHERE id = ?", db.when(utcnow()), pipeline_id)


_RAW = columns_of(PipelineRow, alias="p")
_RAW_SELECT = (
    f"SELECT {_RAW.sql}, pr.slug, u.login, u.avatar_url FROM pipelines p"
    " JOIN projects pr ON pr.id = p.project_id LEFT OUTER JOIN users u ON u.id = p.actor_id"
)


async def get_pipeline(tx: AsyncSession, pipeline_id: str) -> Pipeline:
    db = await driver(tx)
    row = await db.fetchone(f"{_RAW_SELECT} WHERE p.id = ?", pipeline_id)
    if row is None:
        raise NotFound("Pipeline not found.")
    return _pipeline(_RAW.read(row), *row[_RAW.width :])


async def get_pipeline_by_number(tx: AsyncSession, project_id: ProjectId, number: int) -> Pipeline:
    result = (
        await tx.execute(_base().where(PipelineRow.project_id == project_id, PipelineRow.number == number))
    ).first()
    if result is None:
        raise NotFound("Pipeline not found.")
    return _pipeline(*result)


async def list_pipelines(
    tx: AsyncSession,
    *,
    project_ids: list[str],
    branch: str | None = None,
    actor_id: UserId | None = None,
    page_token: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    config: bool = True,
) -> Page[Pipeline]:
    """Pipelines of the given projects, newest first; with ``config=False`` their config texts are
    not read (left empty on the models), for lists that show none of them."""
    query = _base().where(PipelineRow.project_id.in_(project_ids))
    if not config:
        query = query.options(*(defer(c, raiseload=True) for c in _CONFIG_TEXTS))
    if branch is not None:
        query = query.where(PipelineRow.branch == branch)
    if actor_id is not None:
        query = query.where(PipelineRow.actor_id == actor_id)
    key = decode_token(page_token)
    if key is not None:
        query = query.where(
            tuple_(PipelineRow.created_at, PipelineRow.id) < tuple_(datetime.fromisoformat(key[0]), key[1])
        )
    rows = (
        await tx.execute(
            query.order_by(PipelineRow.created_at.desc(), PipelineRow.id.desc()).limit(page_size + 1)
        )
    ).all()
    items = [_pipeline(*r, config=config) for r in rows[:page_size]]
    token = encode_token([items[-1].created_at.isoformat(), items[-1].id]) if len(rows) > page_size else None
    return Page(items=items, next_page_token=token)


async def set_continuation_key(tx: AsyncSession, pipeline_id: PipelineId, key_hash: str) -> None:
    await tx.execute(
        update(PipelineRow).where(PipelineRow.id == pipeline_id).values(continuation_key_hash=key_hash)
    )


async def claim_continuation(tx: AsyncSession, key_hash: str) -> PipelineId | None:
    """Mark the pipeline with this continuation key continued; None when unknown or already used."""
    result = await tx.scalar(
        update(PipelineRow)
        .where(PipelineRow.continuation_key_hash == key_hash, PipelineRow.continued.is_(False))
        .values(continued=True, updated_at=utcnow())
        .returning(PipelineRow.id)
    )
    return PipelineId(result) if result else None
