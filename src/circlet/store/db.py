"""The database engine, one transaction per unit of work, and migrations on start."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from circlet.errors import StoreError
from circlet.store import sqlite
from circlet.store.notify import QueueWaker

if TYPE_CHECKING:  # Alembic (~7 MB) is imported only when a migration has to run
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^(down_)?revision\b[^=\n]*=(.*)$", re.MULTILINE)  # in a migration script
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")
SQLITE_BUSY_TIMEOUT_MS = 30_000
_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}
_AFTER_COMMIT = "circlet.after_commit"


def after_commit(tx: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the transaction ``tx`` belongs to (opened by :meth:`Store.transaction`)
    has committed; never when it rolls back."""
    tx.info.setdefault(_AFTER_COMMIT, []).append(callback)


class Store:
    """Owns the engine. ``transaction()`` is the only way to talk to the database.

    SQLite runs with one connection (so writers queue fairly in asyncio instead of in SQLite's unfair
    busy handler), WAL and ``synchronous=NORMAL`` (or ``FULL``); every transaction starts ``BEGIN
    IMMEDIATE``, and its statements run on the event loop's thread (``circlet.store.sqlite``).
    """

    def __init__(self, engine: AsyncEngine, *, shared: Mapping[str, object] | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._shared = dict(shared or {})
        self.waker = QueueWaker()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        shared: Mapping[str, object] | None = None,
        sqlite_synchronous: str = "normal",
    ) -> Store:
        """Build a store from an async SQLAlchemy URL (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).
        ``shared`` values (e.g. the secret box) are in every transaction's ``info``.

        ``sqlite_synchronous`` is SQLite's ``synchronous`` setting: ``normal`` (in WAL mode a commit
        is durable once the OS has it, and the file is never corrupted; a power cut may roll back the
        last commits) or ``full`` (each commit waits for its fsync)."""
        if sqlite_synchronous not in _SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {sorted(_SYNCHRONOUS)}")
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(
                url,
                pool_size=1,
                max_overflow=0,
                pool_timeout=60,
                async_creator=partial(
                    sqlite.connect, path or ":memory:", busy_timeout_s=SQLITE_BUSY_TIMEOUT_MS / 1000
                ),
            )
            _install_sqlite_hooks(engine, _SYNCHRONOUS[sqlite_synchronous])
        else:
            engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
            )
        return cls(engine, shared=shared)

    def share(self, name: str, value: object) -> None:
        """Give ``value`` to every transaction opened from now on, as ``tx.info[name]``."""
        self._shared[name] = value

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Open a session in a transaction; commit on success, roll back on error."""
        async with self._sessions() as session:
            session.info.update(self._shared)
            try:
                async with session.begin():
                    yield session
            except (OperationalError, DBAPIError) as exc:
                raise StoreError(f"database error: {exc.orig!s}") from exc
            for resource_class in session.info.pop("wake", ()):
                self.waker.wake(resource_class)
            for callback in session.info.pop(_AFTER_COMMIT, ()):
                callback()

    async def migrate(self) -> None:
        """Apply every Alembic migration up to head (Alembic, ~7 MB, loads only when one is missing)."""
        async with self.engine.begin() as conn:
            if not await conn.run_sync(_at_head):
                await conn.run_sync(_upgrade_head)

    async def close(self) -> None:
        await self.engine.dispose()


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@cache
def head_revision() -> str | None:
    """The newest migration, read from the scripts' ``revision``/``down_revision`` lines without
    loading Alembic; None when that is not one revision (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for down, value in _REVISION.findall(script.read_text()):
            (parents if down else revisions).update(_QUOTED.findall(value))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(connection: Connection) -> bool:
    head = head_revision()
    if head is None or not inspect(connection).has_table("alembic_version"):
        return False
    versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return list(versions) == [head]


def _upgrade_head(connection: Connection) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def _install_sqlite_hooks(engine: AsyncEngine, synchronous: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=0")  # locks are waited for without blocking the loop
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
