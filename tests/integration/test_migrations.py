"""``alembic upgrade head`` builds exactly the schema the ORM tables describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from circlet.settings import to_async_url
from circlet.store.db import Store, alembic_config, head_revision
from circlet.store.schema import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgrade_head_matches_the_tables(empty_database_url: str) -> None:
    store = Store.from_url(to_async_url(empty_database_url))
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            differences = await conn.run_sync(_diff)
    finally:
        await store.close()
    assert differences == []


async def test_migrate_twice_is_a_no_op(empty_database_url: str) -> None:
    store = Store.from_url(to_async_url(empty_database_url))
    try:
        await store.migrate()
        await store.migrate()
    finally:
        await store.close()


def test_head_revision_is_alembics_head() -> None:
    """``Store.migrate`` skips Alembic when the database is at ``head_revision()``, read from the
    scripts without Alembic: it must be the head Alembic would upgrade to."""
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == head_revision()
