"""Contexts, their environment variables (sealed) and their restrictions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict, NotFound
from circlet.model.settings import Context, Restriction, RestrictionType, SealedVar
from circlet.store._types import utcnow
from circlet.store.pages import DEFAULT_PAGE_SIZE, Page, decode_token, encode_token
from circlet.store.tables_settings import ContextEnvVarRow, ContextRestrictionRow, ContextRow
from circlet.types import OrgId


def _context(row: ContextRow) -> Context:
    return Context(id=row.id, org_id=OrgId(row.org_id), name=row.name, created_at=row.created_at)


def _restriction(row: ContextRestrictionRow) -> Restriction:
    return Restriction(
        id=row.id,
        context_id=row.context_id,
        type=RestrictionType(row.type),
        value=row.value,
        name=row.name,
    )


async def create_context(tx: AsyncSession, org_id: str, name: str) -> Context:
    """Raises Conflict when the org already has a context of that name."""
    if await find_context(tx, org_id, name) is not None:
        raise Conflict(f"A context named {name!r} already exists.")
    row = ContextRow(id=str(uuid.uuid4()), org_id=org_id, name=name, created_at=utcnow())
    tx.add(row)
    await tx.flush()
    return _context(row)


async def get_context(tx: AsyncSession, context_id: str) -> Context:
    row = await tx.get(ContextRow, context_id)
    if row is None:
        raise NotFound("Context not found.")
    return _context(row)


async def find_context(tx: AsyncSession, org_id: str, name: str) -> Context | None:
    row = await tx.scalar(select(ContextRow).where(ContextRow.org_id == org_id, ContextRow.name == name))
    return _context(row) if row else None


async def list_contexts(
    tx: AsyncSession, org_id: str, *, page_token: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[Context]:
    query = select(ContextRow).where(ContextRow.org_id == org_id)
    key = decode_token(page_token)
    if key is not None:
        after = tuple_(datetime.fromisoformat(str(key[0])), str(key[-1]))
        query = query.where(tuple_(ContextRow.created_at, ContextRow.id) > after)
    rows = list(await tx.scalars(query.order_by(ContextRow.created_at, ContextRow.id).limit(page_size + 1)))
    items = [_context(r) for r in rows[:page_size]]
    more = len(rows) > page_size
    token = encode_token([items[-1].created_at.isoformat(), items[-1].id]) if more else None
    return Page(items=items, next_page_token=token)


async def delete_context(tx: AsyncSession, context_id: str) -> None:
    result = await tx.execute(delete(ContextRow).where(ContextRow.id == context_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Context not found.")


async def put_envvar(tx: AsyncSession, context_id: str, name: str, sealed: str) -> SealedVar:
    now = utcnow()
    result = await tx.execute(
        update(ContextEnvVarRow)
        .where(ContextEnvVarRow.context_id == context_id, ContextEnvVarRow.name == name)
        .values(sealed=sealed, updated_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        tx.add(
            ContextEnvVarRow(context_id=context_id, name=name, sealed=sealed, created_at=now, updated_at=now)
        )
        await tx.flush()
    row = await tx.get(ContextEnvVarRow, (context_id, name), populate_existing=True)
    assert row is not None  # written just above, in this transaction
    return SealedVar(name=row.name, sealed=row.sealed, created_at=row.created_at, updated_at=row.updated_at)


async def list_envvars(tx: AsyncSession, context_ids: list[str]) -> dict[str, list[SealedVar]]:
    """Each context's variables, by context id, sorted by name."""
    rows = await tx.scalars(
        select(ContextEnvVarRow)
        .where(ContextEnvVarRow.context_id.in_(context_ids))
        .order_by(ContextEnvVarRow.name)
    )
    found: dict[str, list[SealedVar]] = {c: [] for c in context_ids}
    for row in rows:
        found[row.context_id].append(
            SealedVar(name=row.name, sealed=row.sealed, created_at=row.created_at, updated_at=row.updated_at)
        )
    return found


async def delete_envvar(tx: AsyncSession, context_id: str, name: str) -> None:
    result = await tx.execute(
        delete(ContextEnvVarRow).where(
            ContextEnvVarRow.context_id == context_id, ContextEnvVarRow.name == name
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Environment variable not found.")


async def add_restriction(
    tx: AsyncSession, context_id: str, *, type: RestrictionType, value: str, name: str
) -> Restriction:
    """Raises Conflict when the same restriction exists already."""
    exists = await tx.scalar(
        select(ContextRestrictionRow.id).where(
            ContextRestrictionRow.context_id == context_id,
            ContextRestrictionRow.type == type.value,
            ContextRestrictionRow.value == value,
        )
    )
    if exists:
        raise Conflict("This restriction already exists.")
    row = ContextRestrictionRow(
        id=str(uuid.uuid4()),
        context_id=context_id,
        type=type.value,
        value=value,
        name=name,
        created_at=utcnow(),
    )
    tx.add(row)
    await tx.flush()
    return _restriction(row)


async def list_restrictions(tx: AsyncSession, context_id: str) -> list[Restriction]:
    rows = await tx.scalars(
        select(ContextRestrictionRow)
        .where(ContextRestrictionRow.context_id == context_id)
        .order_by(ContextRestrictionRow.created_at, ContextRestrictionRow.id)
    )
    return [_restriction(r) for r in rows]


async def delete_restriction(tx: AsyncSession, context_id: str, restriction_id: str) -> None:
    result = await tx.execute(
        delete(ContextRestrictionRow).where(
            ContextRestrictionRow.context_id == context_id, ContextRestrictionRow.id == restriction_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Restriction not found.")
