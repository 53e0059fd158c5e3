"""INSERT ... ON CONFLICT for the session's dialect (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(tx: AsyncSession, table: Table) -> Any:
    """An INSERT that knows ``on_conflict_do_nothing``/``do_update`` for the session's dialect."""
    if tx.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def table_of(row: type[Any]) -> Table:
    table: Table = row.__table__
    return table
