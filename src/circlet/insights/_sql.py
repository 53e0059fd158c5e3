"""Dialect-aware upserts: rollup rows are added to with one atomic statement on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights.durations import compact
from circlet.store.rawsql import driver, table_columns

PAIR_BYTES = 8  # one (duration, count) pair of little-endian int32
COMPACT_FROM_PAIRS = 32  # a shorter histogram is never rewritten
CHUNK = 500  # rows per statement; keeps parameter lists small on both drivers


def dialect(tx: AsyncSession) -> str:
    return tx.get_bind().dialect.name


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
    finish) are one statement. The statements go straight to the driver (``circlet.store.rawsql``):
    a job's finish adds to three rollups.
    """
    if not rows:
        return
    db = await driver(tx)
    columns = table_columns(table)
    names = tuple(rows[0])
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        sent = {tuple(row[k] for k in keys): len(row["durations"]) for row in chunk}
        changed = []
        found = await db.fetch(
            _upsert_sql(db.is_pg, table.name, names, tuple(keys), tuple(sums), len(chunk)),
            *(columns.param(db, name, row[name]) for row in chunk for name in names),
        )
        for *key, stored in found:
            blob = bytes(stored)
            if len(blob) == sent[tuple(key)]:
                continue  # a new row (or nothing appended): the histogram is the one sent, already compact
            if not _crossed(len(blob) // PAIR_BYTES, sent[tuple(key)] // PAIR_BYTES):
                continue
            packed = compact(blob)
            if len(packed) < len(blob):
                changed.append((packed, *key))
        if changed:
            where = " AND ".join(f"{k} = ?" for k in keys)
            await db.executemany(f"UPDATE {table.name} SET durations = ? WHERE {where}", changed)


@cache
def _upsert_sql(
    is_pg: bool, table: str, names: tuple[str, ...], keys: tuple[str, ...], sums: tuple[str, ...], count: int
) -> str:
    least, greatest = ("least", "greatest") if is_pg else ("min", "max")
    concat = f"{table}.durations || excluded.durations"
    merged = [
        *(f"{s} = {table}.{s} + excluded.{s}" for s in sums),
        f"first_at = {least}({table}.first_at, excluded.first_at)",
        f"last_at = {greatest}({table}.last_at, excluded.last_at)",
        f"durations = {concat}" if is_pg else f"durations = CAST({concat} AS BLOB)",
    ]
    return (
        f"{_insert_sql(table, names, count)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET"
        f" {', '.join(merged)} RETURNING {', '.join(keys)}, {table}.durations"
    )


def _insert_sql(table: str, names: Sequence[str], count: int) -> str:
    one = f"({', '.join('?' * len(names))})"
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join([one] * count)}"


def _crossed(pairs: int, appended: int) -> bool:
    """The pair count went past a power of two (at least ``COMPACT_FROM_PAIRS``) with this append."""
    return pairs >= COMPACT_FROM_PAIRS and pairs.bit_length() > max(0, pairs - appended).bit_length()


async def insert_new(tx: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert raw rows keyed by ``id``; return the ids that were new (a hook may fire twice for a run)."""
    inserted: set[str] = set()
    for found in await _insert_ignoring(tx, table, rows, returning="id"):
        inserted.update(str(row[0]) for row in found)
    return inserted


async def insert_ignore(tx: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    await _insert_ignoring(tx, table, rows)


async def _insert_ignoring(
    tx: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, returning: str = ""
) -> list[Sequence[Sequence[Any]]]:
    """INSERT ... ON CONFLICT DO NOTHING of ``rows`` (all with the same keys), in chunks."""
    if not rows:
        return []
    db = await driver(tx)
    columns = table_columns(table)
    names = tuple(rows[0])
    found = []
    tail = f" ON CONFLICT DO NOTHING{f' RETURNING {returning}' if returning else ''}"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params = [columns.param(db, name, row[name]) for row in chunk for name in names]
        found.append(await db.fetch(_insert_sql(table.name, names, len(chunk)) + tail, *params))
    return found
