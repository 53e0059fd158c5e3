"""Dialect-aware upserts: rollup rows are added to with one atomic statement on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import LargeBinary, Table, and_, bindparam, cast, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from circlet.insights.durations import compact

PAIR_BYTES = 8  # one (duration, count) pair of little-endian int32
COMPACT_FROM_PAIRS = 32  # a shorter histogram is never rewritten
CHUNK = 500  # rows per executemany; keeps parameter lists small on both drivers


def dialect(tx: AsyncSession) -> str:
    return tx.get_bind().dialect.name


def insert_for(tx: AsyncSession, table: Table) -> Any:
    """An INSERT that knows ``on_conflict_do_update``/``do_nothing`` for the session's dialect."""
    return postgresql.insert(table) if dialect(tx) == "postgresql" else sqlite.insert(table)


def _least(tx: AsyncSession, a: Any, b: Any) -> ColumnElement[Any]:
    return func.least(a, b) if dialect(tx) == "postgresql" else func.min(a, b)


def _greatest(tx: AsyncSession, a: Any, b: Any) -> ColumnElement[Any]:
    return func.greatest(a, b) if dialect(tx) == "postgresql" else func.max(a, b)


async def add_to_rollup(
    tx: AsyncSession,
    table: Table,
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    sums: Sequence[str],
) -> None:
    """Insert each row, or add it to the existing row with the same ``keys``.

    ``sums`` are added, ``first_at``/``last_at`` keep the min/max, ``durations`` (a packed histogram)
    appends. The whole merge happens in the database, so concurrent finishers cannot lose an update.
    The upsert returns the merged histograms and leaves the rows locked by this transaction, so they
    can be rewritten compacted (each duration once) in place. Readers merge repeated durations, so a
    histogram is only compacted when its pair count crosses a power of two from
    ``COMPACT_FROM_PAIRS`` up: it stays within twice its compact size, and most upserts (a job's
    finish) are one statement.
    """
    if not rows:
        return
    stmt = insert_for(tx, table)
    new = stmt.excluded
    merged: dict[str, Any] = {name: table.c[name] + new[name] for name in sums}
    merged["first_at"] = _least(tx, table.c.first_at, new.first_at)
    merged["last_at"] = _greatest(tx, table.c.last_at, new.last_at)
    merged["durations"] = cast(table.c.durations.op("||")(new.durations), LargeBinary)
    key_cols = [table.c[k] for k in keys]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=merged).returning(
        *key_cols, table.c.durations
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        sent = {tuple(row[k] for k in keys): len(row["durations"]) for row in chunk}
        changed = []
        for *key, blob in (await tx.execute(stmt, list(chunk))).all():
            if len(blob) == sent[tuple(key)]:
                continue  # a new row (or nothing appended): the histogram is the one sent, already compact
            if not _crossed(len(blob) // PAIR_BYTES, sent[tuple(key)] // PAIR_BYTES):
                continue
            packed = compact(blob)
            if len(packed) < len(blob):
                changed.append({f"k_{k}": v for k, v in zip(keys, key, strict=True)} | {"packed": packed})
        if changed:
            where = and_(*[table.c[k] == bindparam(f"k_{k}") for k in keys])
            await tx.execute(update(table).where(where).values(durations=bindparam("packed")), changed)


def _crossed(pairs: int, appended: int) -> bool:
    """The pair count went past a power of two (at least ``COMPACT_FROM_PAIRS``) with this append."""
    return pairs >= COMPACT_FROM_PAIRS and pairs.bit_length() > max(0, pairs - appended).bit_length()


async def insert_new(tx: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert raw rows keyed by ``id``; return the ids that were new (a hook may fire twice for a run)."""
    if not rows:
        return set()
    stmt = insert_for(tx, table).on_conflict_do_nothing().returning(table.c.id)
    inserted: set[str] = set()
    for start in range(0, len(rows), CHUNK):
        result = await tx.execute(stmt, list(rows[start : start + CHUNK]))
        inserted.update(result.scalars().all())
    return inserted


async def insert_ignore(tx: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert_for(tx, table).on_conflict_do_nothing()
    for start in range(0, len(rows), CHUNK):
        await tx.execute(stmt, list(rows[start : start + CHUNK]))
