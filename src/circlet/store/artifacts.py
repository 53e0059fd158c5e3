"""Artifacts of a job: one row per stored file path and node."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import NotFound
from circlet.model.storage import Artifact
from circlet.store._upsert import insert_for, table_of
from circlet.store.tables_artifacts import ArtifactRow


def _artifact(row: ArtifactRow) -> Artifact:
    return Artifact(
        id=row.id,
        job_id=row.job_id,
        node_index=row.node_index,
        path=row.path,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


async def put_artifact(
    tx: AsyncSession, *, job_id: str, node_index: int, path: str, size_bytes: int, created_at: datetime
) -> None:
    """Record a stored file; storing the same path of the same node again replaces it."""
    stmt = insert_for(tx, table_of(ArtifactRow)).values(
        id=str(uuid.uuid4()),
        job_id=job_id,
        node_index=node_index,
        path=path,
        size_bytes=size_bytes,
        created_at=created_at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["job_id", "node_index", "path"],
        set_={"size_bytes": size_bytes, "created_at": created_at},
    )
    await tx.execute(stmt)


async def list_artifacts(tx: AsyncSession, job_id: str) -> list[Artifact]:
    rows = await tx.scalars(
        select(ArtifactRow)
        .where(ArtifactRow.job_id == job_id)
        .order_by(ArtifactRow.node_index, ArtifactRow.path)
    )
    return [_artifact(r) for r in rows]


async def get_artifact(tx: AsyncSession, job_id: str, node_index: int, path: str) -> Artifact:
    row = await tx.scalar(
        select(ArtifactRow).where(
            ArtifactRow.job_id == job_id, ArtifactRow.node_index == node_index, ArtifactRow.path == path
        )
    )
    if row is None:
        raise NotFound("Artifact not found.")
    return _artifact(row)
