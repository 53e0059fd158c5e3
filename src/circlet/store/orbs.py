"""The local orb registry: published orb versions kept in the database."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict
from circlet.store._types import utcnow
from circlet.store.tables import OrbRow


async def publish_orb(tx: AsyncSession, *, namespace: str, name: str, version: str, source: str) -> None:
    """Store an orb version. Versions are immutable, as on CircleCI."""
    exists = await tx.scalar(
        select(OrbRow.id).where(OrbRow.namespace == namespace, OrbRow.name == name, OrbRow.version == version)
    )
    if exists:
        raise Conflict(f"Orb {namespace}/{name}@{version} is already published; versions are immutable.")
    tx.add(
        OrbRow(
            id=str(uuid.uuid4()),
            namespace=namespace,
            name=name,
            version=version,
            source=source,
            created_at=utcnow(),
        )
    )
    await tx.flush()


async def orb_versions(tx: AsyncSession, namespace: str, name: str) -> list[str]:
    rows = await tx.scalars(select(OrbRow.version).where(OrbRow.namespace == namespace, OrbRow.name == name))
    return list(rows)


async def orb_source(tx: AsyncSession, namespace: str, name: str, version: str) -> str | None:
    return await tx.scalar(
        select(OrbRow.source).where(
            OrbRow.namespace == namespace, OrbRow.name == name, OrbRow.version == version
        )
    )


async def list_orbs(tx: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await tx.execute(
        select(OrbRow.namespace, OrbRow.name, OrbRow.version).order_by(
            OrbRow.namespace, OrbRow.name, OrbRow.created_at
        )
    )
    return [(a, b, c) for a, b, c in rows]
