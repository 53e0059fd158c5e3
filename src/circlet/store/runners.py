"""Runner rows: who is connected, seen when."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store._types import utcnow
from circlet.store.tables import RunnerRow


async def register_runner(tx: AsyncSession, *, token_id: str, name: str, resource_class: str) -> str:
    """Return the id of the runner (token, name), creating or refreshing it."""
    now = utcnow()
    runner_id = await tx.scalar(
        update(RunnerRow)
        .where(RunnerRow.token_id == token_id, RunnerRow.name == name)
        .values(last_seen_at=now)
        .returning(RunnerRow.id)
    )
    if runner_id is not None:
        return str(runner_id)
    row = RunnerRow(
        id=str(uuid.uuid4()), token_id=token_id, name=name, resource_class=resource_class, last_seen_at=now
    )
    tx.add(row)
    await tx.flush()
    return row.id
