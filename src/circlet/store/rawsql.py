"""Hand-written statements for the runner's hot path, sent straight to the driver.

Each job a runner finishes goes through a dozen statements (claim, step rows, task and job status,
the workflow's move). Through SQLAlchemy each costs 0.5-1 ms of CPU (building the statement, its cache
key, the asyncio adapter's several thread hops); aiosqlite or asyncpg alone take about 0.07 ms. Those
statements are written here, as plain SQL with ``?`` placeholders (turned into ``$n`` for asyncpg), and
run on the driver connection of the transaction the session already holds, so they commit or roll
back with everything else the unit of work did.

Values cross in the same forms SQLAlchemy uses for the same columns (read off the tables' types):
timestamps are ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text on SQLite and ``timestamptz`` on PostgreSQL,
JSON is text, booleans are 0/1 on SQLite. ORM objects the session loaded earlier are not refreshed by
these statements, so a function that writes here reads here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Boolean, Table
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store._types import UTCDateTime

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite
_INFO_KEY = "circlet.raw"


class Driver:
    """The transaction's driver connection, with the few calls the hot path needs."""

    def __init__(self, dialect: str, connection: Any) -> None:
        self.dialect = dialect
        self.is_pg = dialect == "postgresql"
        self._conn = connection

    async def fetch(self, sql: str, *params: Any) -> Sequence[Sequence[Any]]:
        if self.is_pg:
            rows: Sequence[Sequence[Any]] = await self._conn.fetch(_numbered(sql), *params)
            return rows
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, *params: Any) -> Sequence[Any] | None:
        rows = await self.fetch(sql, *params)
        return rows[0] if rows else None

    async def execute(self, sql: str, *params: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        if self.is_pg:
            status: str = await self._conn.execute(_numbered(sql), *params)
            tail = status.rsplit(" ", 1)[-1]
            return int(tail) if tail.isdigit() else 0
        cursor = await self._conn.execute(sql, params)
        return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.is_pg:
            await self._conn.executemany(_numbered(sql), rows)
        else:
            await self._conn.executemany(sql, rows)

    def when(self, value: datetime | None) -> Any:
        """A timestamp parameter."""
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value if self.is_pg else value.strftime(_SQLITE_TIME)

    @staticmethod
    def json(value: Any) -> str:
        """A JSON parameter."""
        return json.dumps(value)

    def flag(self, value: bool) -> Any:
        """A boolean parameter."""
        return value if self.is_pg else int(value)


async def driver(tx: AsyncSession) -> Driver:
    """The driver connection of ``tx``'s transaction (begun now if it was not yet)."""
    found = tx.info.get(_INFO_KEY)
    if found is not None:
        assert isinstance(found, Driver)
        return found
    connection = await tx.connection()  # begins the transaction (BEGIN IMMEDIATE on SQLite)
    fairy = await connection.get_raw_connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        adapted = fairy.dbapi_connection
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement; a statement sent here
        # first must not run outside the transaction.
        if getattr(adapted, "_transaction", None) is None:
            await adapted._start_transaction()  # type: ignore[union-attr]
    made = Driver(dialect, fairy.driver_connection)
    tx.info[_INFO_KEY] = made
    return made


@cache
def _numbered(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$1, $2, ...`` (the statements here have no ``?`` in literals)."""
    counter = iter(range(1, 1 << 16))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _read_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _read_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _read_flag(value: Any) -> Any:
    return None if value is None else bool(value)


def _same(value: Any) -> Any:
    return value


class Columns:
    """A table's columns for hand-written SELECTs and how their values are read back, from the
    SQLAlchemy table's types. ``read`` gives an object with one attribute per column, like an ORM row."""

    def __init__(self, table: Table, *, alias: str | None = None) -> None:
        prefix = f"{alias or table.name}."
        self.names = tuple(c.name for c in table.columns)
        self.sql = ", ".join(prefix + name for name in self.names)
        readers = [(c.name, _reader(c.type)) for c in table.columns]
        self._converted = tuple((name, reader) for name, reader in readers if reader is not _same)
        self._kinds = {c.name: _kind(c.type) for c in table.columns}
        self.width = len(self.names)

    def read(self, values: Sequence[Any], start: int = 0) -> Any:
        fields = dict(zip(self.names, values[start : start + self.width], strict=True))
        for name, reader in self._converted:
            fields[name] = reader(fields[name])
        return SimpleNamespace(**fields)

    def param(self, db: Driver, name: str, value: Any) -> Any:
        """``value`` of column ``name`` as a parameter."""
        kind = self._kinds[name]
        if value is None or kind == "plain":
            return value
        if kind == "time":
            return db.when(value)
        if kind == "json":
            return db.json(value)
        return db.flag(bool(value))


def _kind(type_: Any) -> str:
    if isinstance(type_, UTCDateTime):
        return "time"
    if isinstance(type_, JSON) or isinstance(getattr(type_, "impl", None), JSON):
        return "json"
    if isinstance(type_, Boolean):
        return "flag"
    return "plain"


_READERS: dict[str, Callable[[Any], Any]] = {
    "time": _read_time,
    "json": _read_json,
    "flag": _read_flag,
    "plain": _same,
}


def _reader(type_: Any) -> Callable[[Any], Any]:
    return _READERS[_kind(type_)]


def columns_of(row: type[Any], *, alias: str | None = None) -> Columns:
    table: Table = row.__table__
    return Columns(table, alias=alias)


@cache
def table_columns(table: Table) -> Columns:
    """The (kept) ``Columns`` of ``table``."""
    return Columns(table)


async def insert_row(tx: AsyncSession, row: type[Any], **values: Any) -> None:
    """Insert one row of ``row``'s table with ``values`` (columns left out take their SQL default)."""
    db = await driver(tx)
    table: Table = row.__table__
    columns = table_columns(table)
    await db.execute(
        f"INSERT INTO {table.name} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        *(columns.param(db, name, value) for name, value in values.items()),
    )
