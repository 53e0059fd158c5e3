"""Workflow rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import InvalidTransition, NotFound
from circlet.model.pipelines import Workflow
from circlet.model.statuses import WorkflowStatus
from circlet.store._types import utcnow
from circlet.store.pages import DEFAULT_PAGE_SIZE, Page, decode_token, encode_token
from circlet.store.rawsql import columns_of, driver, insert_row
from circlet.store.tables import PipelineRow, ProjectRow, WorkflowRow
from circlet.types import PipelineId, ProjectId, WorkflowId


def _workflow(row: Any, number: int, slug: str) -> Workflow:
    return Workflow(
        id=WorkflowId(row.id),
        pipeline_id=PipelineId(row.pipeline_id),
        pipeline_number=number,
        project_id=ProjectId(row.project_id),
        project_slug=slug,
        name=row.name,
        status=WorkflowStatus(row.status),
        created_at=row.created_at,
        stopped_at=row.stopped_at,
        started_by=row.started_by,
        canceled_by=row.canceled_by,
        errored_by=row.errored_by,
        tag=row.tag,
        rerun_of=row.rerun_of,
        auto_reruns_left=row.auto_reruns_left,
    )


def _base() -> Any:
    return (
        select(WorkflowRow, PipelineRow.number, ProjectRow.slug)
        .join(PipelineRow, PipelineRow.id == WorkflowRow.pipeline_id)
        .join(ProjectRow, ProjectRow.id == WorkflowRow.project_id)
    )


async def create_workflow(
    tx: AsyncSession,
    *,
    pipeline_id: PipelineId,
    project_id: ProjectId,
    name: str,
    status: WorkflowStatus,
    started_by: str | None,
    tag: str | None = None,
    rerun_of: str | None = None,
    created_at: datetime | None = None,
    auto_reruns_left: int = 0,
) -> WorkflowId:
    workflow_id = WorkflowId(str(uuid.uuid4()))
    await insert_row(
        tx,
        WorkflowRow,
        id=workflow_id,
        pipeline_id=pipeline_id,
        project_id=project_id,
        name=name,
        status=status.value,
        created_at=created_at or utcnow(),
        stopped_at=None,
        started_by=started_by,
        tag=tag,
        rerun_of=rerun_of,
        auto_reruns_left=auto_reruns_left,
    )
    return workflow_id


_RAW = columns_of(WorkflowRow, alias="w")
_RAW_SELECT = (
    f"SELECT {_RAW.sql}, p.number, pr.slug FROM workflows w JOIN pipelines p ON p.id = w.pipeline_id"
    " JOIN projects pr ON pr.id = w.project_id"
)


async def get_workflow(tx: AsyncSession, workflow_id: str) -> Workflow:
    db = await driver(tx)
    row = await db.fetchone(f"{_RAW_SELECT} WHERE w.id = ?", workflow_id)
    if row is None:
        raise NotFound("Workflow not found.")
    return _workflow(_RAW.read(row), *row[_RAW.width :])


async def lock_workflow(tx: AsyncSession, workflow_id: str) -> None:
    """Hold the workflow's row until ``tx`` ends, so what moves it on is decided one transaction at a
    time: on PostgreSQL (READ COMMITTED) two sibling jobs finishing together would otherwise each read
    the other still running, and neither would unblock the jobs that require both. Reads after this see
    what the transaction that held the row committed. On SQLite every transaction already holds the
    write lock (``BEGIN IMMEDIATE``)."""
    db = await driver(tx)
    if db.is_pg:
        await db.execute("SELECT id FROM workflows WHERE id = ? FOR UPDATE", workflow_id)


async def list_pipeline_workflows(
    tx: AsyncSession, pipeline_id: str, *, page_token: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[Workflow]:
    query = _base().where(WorkflowRow.pipeline_id == pipeline_id)
    key = decode_token(page_token)
    if key is not None:
        after = tuple_(datetime.fromisoformat(key[0]), key[1])
        query = query.where(tuple_(WorkflowRow.created_at, WorkflowRow.id) > after)
    rows = (
        await tx.execute(query.order_by(WorkflowRow.created_at, WorkflowRow.id).limit(page_size + 1))
    ).all()
    items = [_workflow(*r) for r in rows[:page_size]]
    token = encode_token([items[-1].created_at.isoformat(), items[-1].id]) if len(rows) > page_size else None
    return Page(items=items, next_page_token=token)


async def list_workflows_of_pipelines(
    tx: AsyncSession, pipeline_ids: Sequence[str]
) -> dict[PipelineId, list[Workflow]]:
    """The workflows of several pipelines in one read, each pipeline's oldest first (a pipeline
    without workflows is absent)."""
    if not pipeline_ids:
        return {}
    query = _base().where(WorkflowRow.pipeline_id.in_(pipeline_ids))
    rows = (await tx.execute(query.order_by(WorkflowRow.created_at, WorkflowRow.id))).all()
    found: dict[PipelineId, list[Workflow]] = {}
    for row in rows:
        workflow = _workflow(*row)
        found.setdefault(workflow.pipeline_id, []).append(workflow)
    return found


async def set_workflow_status(
    tx: AsyncSession, workflow_id: str, *, expected: WorkflowStatus, new: WorkflowStatus, **values: Any
) -> None:
    """Compare-and-set a workflow's status. Raises InvalidTransition when it changed meanwhile."""
    if new in FINAL_WORKFLOW_STATUSES:
        values.setdefault("stopped_at", utcnow())
    db = await driver(tx)
    names = ["status", *values]
    params = [new.value, *(db.when(v) if isinstance(v, datetime) else v for v in values.values())]
    changed = await db.execute(
        f"UPDATE workflows SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ? AND status = ?",
        *params,
        workflow_id,
        expected.value,
    )
    if changed == 0:
        raise InvalidTransition(entity="workflow", entity_id=workflow_id, expected=expected, new=new)


FINAL_WORKFLOW_STATUSES = frozenset(
    {
        WorkflowStatus.SUCCESS,
        WorkflowStatus.FAILED,
        WorkflowStatus.ERROR,
        WorkflowStatus.CANCELED,
        WorkflowStatus.NOT_RUN,
        WorkflowStatus.UNAUTHORIZED,
    }
)


async def lock_job_workflow(tx: AsyncSession, job_id: str) -> None:
    """Hold the row of a job's workflow until ``tx`` ends (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
    already serializes writers). Two transactions that finish sibling jobs at once then settle the
    workflow one after the other, so the second sees the first's job final and unblocks what
    required both."""
    db = await driver(tx)
    if db.is_pg:
        await db.execute(
            "SELECT id FROM workflows WHERE id = (SELECT workflow_id FROM jobs WHERE id = ?) FOR UPDATE",
            job_id,
        )
