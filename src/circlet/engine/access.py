"""Tenancy: a user sees only the projects of orgs they belong to; anything else is NotFound."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.slugs import normalize_project_slug
from circlet.errors import NotFound
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Job, Pipeline, Workflow
from circlet.store import accounts as account_store
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import workflows as workflow_store


async def _check(tx: AsyncSession, user: User, project_id: str, what: str) -> None:
    if not await account_store.is_project_member(tx, user.id, project_id):
        raise NotFound(f"{what} not found.")


async def project_for(tx: AsyncSession, user: User, slug: str) -> Project:
    project = await project_store.find_project(tx, normalize_project_slug(slug))
    if project is None or project.org_id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Project not found.")
    return project


async def pipeline_for(tx: AsyncSession, user: User, pipeline_id: str) -> Pipeline:
    pipeline = await pipeline_store.get_pipeline(tx, pipeline_id)
    await _check(tx, user, pipeline.project_id, "Pipeline")
    return pipeline


async def workflow_for(tx: AsyncSession, user: User, workflow_id: str) -> Workflow:
    workflow = await workflow_store.get_workflow(tx, workflow_id)
    await _check(tx, user, workflow.project_id, "Workflow")
    return workflow


async def job_for(tx: AsyncSession, user: User, job_id: str) -> Job:
    job = await job_store.get_job(tx, job_id)
    await _check(tx, user, job.project_id, "Job")
    return job


async def job_by_number(tx: AsyncSession, user: User, slug: str, number: int) -> tuple[Project, Job]:
    project = await project_for(tx, user, slug)
    return project, await job_store.get_job_by_number(tx, project.id, number)
