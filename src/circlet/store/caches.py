"""Saved caches of a project: prefix lookups (newest first), first-writer-wins saves, expiry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.storage import Cache
from circlet.store._upsert import insert_for, table_of
from circlet.store.tables_artifacts import CacheRow


def _cache(row: CacheRow) -> Cache:
    return Cache(
        id=row.id,
        project_id=row.project_id,
        key=row.key,
        archive_format=row.archive_format,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def newest_with_prefix(
    tx: AsyncSession, project_id: str, prefix: str, *, formats: Sequence[str], now: datetime
) -> Cache | None:
    """The most recently saved live cache whose key starts with ``prefix`` (``%`` and ``_`` are literal)."""
    row = await tx.scalar(
        select(CacheRow)
        .where(
            CacheRow.project_id == project_id,
            CacheRow.key.startswith(prefix, autoescape=True),
            CacheRow.archive_format.in_(list(formats)),
            CacheRow.expires_at > now,
        )
        .order_by(CacheRow.created_at.desc(), CacheRow.id.desc())
        .limit(1)
    )
    return _cache(row) if row else None


async def find_key(tx: AsyncSession, project_id: str, key: str, *, now: datetime) -> Cache | None:
    row = await tx.scalar(
        select(CacheRow).where(
            CacheRow.project_id == project_id, CacheRow.key == key, CacheRow.expires_at > now
        )
    )
    return _cache(row) if row else None


async def add_cache(
    tx: AsyncSession,
    *,
    cache_id: str,
    project_id: str,
    key: str,
    archive_format: str,
    size_bytes: int,
    job_id: str,
    created_at: datetime,
    expires_at: datetime,
) -> bool:
    """Record a saved cache; False (and nothing written) when the key already exists."""
    stmt = (
        insert_for(tx, table_of(CacheRow))
        .values(
            id=cache_id,
            project_id=project_id,
            key=key,
            archive_format=archive_format,
            size_bytes=size_bytes,
            job_id=job_id,
            created_at=created_at,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["project_id", "key"])
    )
    result = await tx.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def remove_expired(tx: AsyncSession, project_id: str, *, now: datetime) -> list[Cache]:
    """Delete the project's expired caches (and those whose key was reused after expiry); returns them."""
    rows = list(
        await tx.scalars(
            select(CacheRow).where(CacheRow.project_id == project_id, CacheRow.expires_at <= now)
        )
    )
    if rows:
        await tx.execute(delete(CacheRow).where(CacheRow.id.in_([r.id for r in rows])))
    return [_cache(r) for r in rows]


async def reset_expiry(tx: AsyncSession, project_id: str, retention: timedelta) -> None:
    """Every cache of the project expires ``retention`` after it was saved."""
    for row in await tx.scalars(select(CacheRow).where(CacheRow.project_id == project_id)):
        row.expires_at = row.created_at + retention
    await tx.flush()


def new_cache_id() -> str:
    return str(uuid.uuid4())


async def find_by_id(tx: AsyncSession, cache_id: str) -> Cache | None:
    row = await tx.get(CacheRow, cache_id)
    return _cache(row) if row else None
