"""Runner rows: who is connected, seen when."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store._types import utcnow
from circlet.store.rawsql import driver
from circlet.store.tables import RunnerRow


async def register_runner(tx: AsyncSession, *, token_id: str, name: str, resource_class: str) -> str:
    """Return the id of the runner (token, name), creating or refreshing it."""
    now = utcnow()
    db = await driver(tx)
    found = await db.fetchone(
        "UPDATE runners SET last_seen_at = ? WHERE token_id = ? AND name = ? RETURNING id",
        db.when(now),
        token_id,
        name,
    )
    if found is not None:
        return str(found[0])
    row = RunnerRow(
        id=str(uuid.uuid4()), token_id=token_id, name=name, resource_class=resource_class, last_seen_at=now
    )
    tx.add(row)
    await tx.flush()
    return row.id
