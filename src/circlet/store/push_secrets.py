"""The per-project secret that inbound push hooks are verified against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store.tables_hooks import PushSecretRow
from circlet.types import ProjectId


async def set_push_secret(tx: AsyncSession, project_id: ProjectId, sealed: str, *, now: datetime) -> None:
    """Set or replace the project's secret (already encrypted by the caller)."""
    await tx.execute(delete(PushSecretRow).where(PushSecretRow.project_id == project_id))
    tx.add(PushSecretRow(project_id=project_id, secret_sealed=sealed, created_at=now))
    await tx.flush()


async def sealed_push_secret(tx: AsyncSession, project_id: ProjectId) -> str | None:
    row = await tx.get(PushSecretRow, project_id)
    return row.secret_sealed if row else None
