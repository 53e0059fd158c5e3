"""The data behind the v1.1 job details: a job's steps grouped with their parallel actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.accounts import Project
from circlet.model.pipelines import Job, Pipeline, Step, Workflow
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import steps as step_store
from circlet.store import workflows as workflow_store


@dataclass(frozen=True, slots=True)
class StepGroup:
    name: str
    actions: list[Step]


@dataclass(frozen=True, slots=True)
class BuildDetails:
    job: Job
    pipeline: Pipeline
    workflow: Workflow
    steps: list[StepGroup]
    upstream_ids: Sequence[str]


async def build_details(tx: AsyncSession, project: Project, job: Job) -> BuildDetails:
    del project
    pipeline = await pipeline_store.get_pipeline(tx, job.pipeline_id)
    workflow = await workflow_store.get_workflow(tx, job.workflow_id)
    groups: dict[int, StepGroup] = {}
    for step in await step_store.list_steps(tx, job.id):
        groups.setdefault(step.step_index, StepGroup(step.name, [])).actions.append(step)
    siblings = {j.name: j.id for j in await job_store.list_workflow_jobs(tx, job.workflow_id)}
    upstream = [siblings[r] for r in job.requires if r in siblings]
    return BuildDetails(job, pipeline, workflow, [groups[i] for i in sorted(groups)], upstream)


async def step_of(tx: AsyncSession, job: Job, node_index: int, step_index: int) -> Step | None:
    return await step_store.get_step(tx, job.id, node_index, step_index)
