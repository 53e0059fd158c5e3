"""Runner rows: who is connected, seen when."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store._types import utcnow
from circlet.store.tables import RunnerRow


async def register_runner(tx: AsyncSession, *, token_id: str, name: str, resource_class: str) -> str:
    """Return the id of the runner (token, name), creating or refreshing it."""
    row = await tx.scalar(select(RunnerRow).where(RunnerRow.token_id == token_id, RunnerRow.name == name))
    if row is None:
        row = RunnerRow(
            id=str(uuid.uuid4()),
            token_id=token_id,
            name=name,
            resource_class=resource_class,
            last_seen_at=utcnow(),
        )
        tx.add(row)
        await tx.flush()
    else:
        await tx.execute(update(RunnerRow).where(RunnerRow.id == row.id).values(last_seen_at=utcnow()))
    return row.id
