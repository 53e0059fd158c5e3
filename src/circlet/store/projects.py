"""Projects and their per-project sequences (pipeline and job numbers)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict, NotFound
from circlet.model.accounts import Org, Project
from circlet.store._types import utcnow
from circlet.store.rawsql import columns_of, driver
from circlet.store.tables import OrgRow, ProjectRow
from circlet.types import OrgId, ProjectId


def _project(row: Any, org: Any) -> Project:
    return Project(
        id=ProjectId(row.id),
        org_id=OrgId(row.org_id),
        org_name=org.name,
        org_slug=org.slug,
        slug=row.slug,
        name=row.name,
        repo_url=row.repo_url,
        default_branch=row.default_branch,
        settings=dict(row.settings or {}),
        created_at=row.created_at,
    )


async def create_project(
    tx: AsyncSession, *, org: Org, name: str, repo_url: str, default_branch: str = "main"
) -> Project:
    slug = f"{org.slug}/{name}"
    if await tx.scalar(select(ProjectRow.id).where(ProjectRow.slug == slug)):
        raise Conflict(f"Project {slug} already exists.")
    row = ProjectRow(
        id=str(uuid.uuid4()),
        org_id=org.id,
        slug=slug,
        name=name,
        repo_url=repo_url,
        default_branch=default_branch,
        pipeline_seq=0,
        job_seq=0,
        settings={},
        created_at=utcnow(),
    )
    tx.add(row)
    await tx.flush()
    return await get_project(tx, ProjectId(row.id))


async def update_project(
    tx: AsyncSession,
    project_id: ProjectId,
    *,
    repo_url: str | None = None,
    default_branch: str | None = None,
    settings: dict[str, object] | None = None,
) -> Project:
    values: dict[str, object] = {}
    if repo_url is not None:
        values["repo_url"] = repo_url
    if default_branch is not None:
        values["default_branch"] = default_branch
    if settings is not None:
        values["settings"] = settings
    if values:
        await tx.execute(update(ProjectRow).where(ProjectRow.id == project_id).values(**values))
    return await get_project(tx, project_id)


_RAW = columns_of(ProjectRow, alias="p")
_RAW_ORG = columns_of(OrgRow, alias="o")
_RAW_SELECT = f"SELECT {_RAW.sql}, {_RAW_ORG.sql} FROM projects p JOIN orgs o ON o.id = p.org_id"


async def get_project(tx: AsyncSession, project_id: str) -> Project:
    db = await driver(tx)
    row = await db.fetchone(f"{_RAW_SELECT} WHERE p.id = ?", project_id)
    if row is None:
        raise NotFound("Project not found.")
    return _project(_RAW.read(row), _RAW_ORG.read(row, _RAW.width))


async def find_project(tx: AsyncSession, slug: str) -> Project | None:
    db = await driver(tx)
    row = await db.fetchone(f"{_RAW_SELECT} WHERE p.slug = ?", slug)
    return _project(_RAW.read(row), _RAW_ORG.read(row, _RAW.width)) if row else None


async def list_projects(tx: AsyncSession, org_ids: set[str]) -> list[Project]:
    rows = await tx.execute(
        select(ProjectRow, OrgRow)
        .join(OrgRow)
        .where(ProjectRow.org_id.in_(org_ids))
        .order_by(ProjectRow.slug)
    )
    return [_project(p, o) for p, o in rows]


async def next_pipeline_number(tx: AsyncSession, project_id: ProjectId) -> int:
    """Take the next pipeline number; the row lock serializes concurrent triggers."""
    db = await driver(tx)
    row = await db.fetchone(
        "UPDATE projects SET pipeline_seq = pipeline_seq + 1 WHERE id = ? RETURNING pipeline_seq", project_id
    )
    return int(row[0]) if row else 0


async def take_job_numbers(tx: AsyncSession, project_id: ProjectId, count: int) -> list[int]:
    """Reserve ``count`` consecutive job numbers."""
    if count == 0:
        return []
    db = await driver(tx)
    row = await db.fetchone(
        "UPDATE projects SET job_seq = job_seq + ? WHERE id = ? RETURNING job_seq", count, project_id
    )
    last = int(row[0]) if row else 0
    return list(range(last - count + 1, last + 1))
