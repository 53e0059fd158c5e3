"""Project use cases: add a project under its org."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.slugs import normalize_project_slug
from circlet.model.accounts import Project
from circlet.store import accounts as account_store
from circlet.store import projects as project_store


async def add_project(tx: AsyncSession, slug: str, *, repo_url: str, default_branch: str = "main") -> Project:
    """Create ``vcs/org/name`` (creating the org when needed). Raises Conflict when it exists."""
    vcs, org_name, name = normalize_project_slug(slug).split("/")
    org = await account_store.ensure_org(tx, vcs_type=vcs, name=org_name)
    return await project_store.create_project(
        tx, org=org, name=name, repo_url=repo_url, default_branch=default_branch
    )


async def find_project(tx: AsyncSession, slug: str) -> Project | None:
    return await project_store.find_project(tx, normalize_project_slug(slug))
