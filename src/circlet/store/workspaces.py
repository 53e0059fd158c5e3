"""Workspace layers: one per ``persist_to_workspace`` step of a job node."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.storage import WorkspaceLayer
from circlet.store._upsert import insert_for, table_of
from circlet.store.tables_artifacts import WorkspaceLayerRow


def _layer(row: WorkspaceLayerRow) -> WorkspaceLayer:
    return WorkspaceLayer(
        id=row.id,
        workflow_id=row.workflow_id,
        job_id=row.job_id,
        job_name=row.job_name,
        node_index=row.node_index,
        step_index=row.step_index,
        archive_format=row.archive_format,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


def layer_id_for(job_id: str, node_index: int, step_index: int) -> str:
    """A layer's id is fixed by its step, so a retried upload lands on the same file and row."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"circlet:layer:{job_id}:{node_index}:{step_index}"))


async def add_layer(
    tx: AsyncSession,
    *,
    workflow_id: str,
    job_id: str,
    job_name: str,
    node_index: int,
    step_index: int,
    archive_format: str,
    size_bytes: int,
    created_at: datetime,
) -> None:
    values = {
        "id": layer_id_for(job_id, node_index, step_index),
        "workflow_id": workflow_id,
        "job_id": job_id,
        "job_name": job_name,
        "node_index": node_index,
        "step_index": step_index,
        "archive_format": archive_format,
        "size_bytes": size_bytes,
        "created_at": created_at,
    }
    stmt = insert_for(tx, table_of(WorkspaceLayerRow)).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["job_id", "node_index", "step_index"],
        set_={"size_bytes": size_bytes, "archive_format": archive_format},
    )
    await tx.execute(stmt)


async def layers_of_jobs(tx: AsyncSession, job_ids: Sequence[str]) -> list[WorkspaceLayer]:
    if not job_ids:
        return []
    rows = await tx.scalars(
        select(WorkspaceLayerRow)
        .where(WorkspaceLayerRow.job_id.in_(list(job_ids)))
        .order_by(WorkspaceLayerRow.created_at, WorkspaceLayerRow.node_index, WorkspaceLayerRow.step_index)
    )
    return [_layer(r) for r in rows]
