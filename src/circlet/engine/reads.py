"""Read use cases behind the API's lists and details (access already checked by the caller)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.pipelines import TriggerRequest
from circlet.engine.pipelines import pipeline_values as compute_values
from circlet.engine.slugs import normalize_org_slug
from circlet.errors import NotFound
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Job, Pipeline, Task, Workflow
from circlet.store import accounts as account_store
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import tasks as task_store
from circlet.store import workflows as workflow_store
from circlet.store.pages import Page


async def project_pipelines(
    tx: AsyncSession,
    project: Project,
    *,
    branch: str | None = None,
    actor: User | None = None,
    page_token: str | None = None,
) -> Page[Pipeline]:
    return await pipeline_store.list_pipelines(
        tx,
        project_ids=[project.id],
        branch=branch,
        actor_id=actor.id if actor else None,
        page_token=page_token,
    )


async def org_pipelines(
    tx: AsyncSession, user: User, *, org_slug: str | None, mine: bool, page_token: str | None
) -> Page[Pipeline]:
    org_ids = await account_store.user_org_ids(tx, user.id)
    if org_slug:
        org = await account_store.find_org(tx, normalize_org_slug(org_slug))
        if org is None or org.id not in org_ids:
            raise NotFound("Organization not found.")
        org_ids = {org.id}
    projects = await project_store.list_projects(tx, org_ids)
    return await pipeline_store.list_pipelines(
        tx, project_ids=[p.id for p in projects], actor_id=user.id if mine else None, page_token=page_token
    )


async def pipeline_by_number(tx: AsyncSession, project: Project, number: int) -> Pipeline:
    return await pipeline_store.get_pipeline_by_number(tx, project.id, number)


async def pipeline_values(tx: AsyncSession, pipeline: Pipeline) -> dict[str, Any]:
    project = await project_store.get_project(tx, pipeline.project_id)
    values = compute_values(
        pipeline,
        project,
        TriggerRequest(trigger_type=pipeline.trigger_type, trigger_source=pipeline.trigger_type),
    )
    return {
        k: v
        for k, v in values.items()
        if isinstance(v, str | int | bool) and not k.startswith("pipeline.trigger_parameters.")
    }


async def pipeline_workflows(
    tx: AsyncSession, pipeline: Pipeline, *, page_token: str | None
) -> Page[Workflow]:
    return await workflow_store.list_pipeline_workflows(tx, pipeline.id, page_token=page_token)


async def workflow_jobs(tx: AsyncSession, workflow: Workflow) -> list[Job]:
    return await job_store.list_workflow_jobs(tx, workflow.id)


async def job_tasks(tx: AsyncSession, job: Job) -> list[Task]:
    return await task_store.list_tasks(tx, job.id)


async def job_context(tx: AsyncSession, job: Job) -> tuple[Project, Workflow]:
    return await project_store.get_project(tx, job.project_id), await workflow_store.get_workflow(
        tx, job.workflow_id
    )
