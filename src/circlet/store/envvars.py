"""Project environment variables (values sealed by the engine before they get here)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import NotFound
from circlet.model.settings import SealedVar
from circlet.store._types import utcnow
from circlet.store.rawsql import columns_of, driver
from circlet.store.tables_settings import ProjectEnvVarRow


def _var(row: Any) -> SealedVar:
    return SealedVar(name=row.name, sealed=row.sealed, created_at=row.created_at, updated_at=row.updated_at)


async def put_envvar(tx: AsyncSession, project_id: str, name: str, sealed: str) -> SealedVar:
    """Create or overwrite ``name`` (CircleCI overwrites an existing variable of the same name)."""
    now = utcnow()
    result = await tx.execute(
        update(ProjectEnvVarRow)
        .where(ProjectEnvVarRow.project_id == project_id, ProjectEnvVarRow.name == name)
        .values(sealed=sealed, updated_at=now)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        tx.add(
            ProjectEnvVarRow(
                id=str(uuid.uuid4()),
                project_id=project_id,
                name=name,
                sealed=sealed,
                created_at=now,
                updated_at=now,
            )
        )
        await tx.flush()
    found = await find_envvar(tx, project_id, name)
    assert found is not None  # written just above, in this transaction
    return found


async def find_envvar(tx: AsyncSession, project_id: str, name: str) -> SealedVar | None:
    row = await tx.scalar(
        select(ProjectEnvVarRow).where(
            ProjectEnvVarRow.project_id == project_id, ProjectEnvVarRow.name == name
        )
    )
    return _var(row) if row else None


_RAW = columns_of(ProjectEnvVarRow)


async def list_envvars(tx: AsyncSession, project_id: str) -> list[SealedVar]:
    """A project's variables (read for every job a runner claims: straight to the driver)."""
    db = await driver(tx)
    rows = await db.fetch(
        f"SELECT {_RAW.sql} FROM project_envvars WHERE project_id = ? ORDER BY name", project_id
    )
    return [_var(_RAW.read(r)) for r in rows]


async def delete_envvar(tx: AsyncSession, project_id: str, name: str) -> None:
    """Raises NotFound when there is no such variable."""
    result = await tx.execute(
        delete(ProjectEnvVarRow).where(
            ProjectEnvVarRow.project_id == project_id, ProjectEnvVarRow.name == name
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Environment variable not found.")
