"""A pipeline's plan: which workflows and jobs its trigger selects and why the others were left out,
as ``circlet config plan`` shows it, beside what actually ran.

The plan is the compiler's (``compile_config``): the pipeline's stored config compiled again with the
pipeline's values (branch or tag, trigger, parameters) and the registry's orbs as they are now.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.compiler import compile_config
from circlet.engine.orbs import StoreOrbSource
from circlet.engine.pipelines import CONFIG_PATH, TriggerRequest, pipeline_values
from circlet.errors import ConfigInvalid
from circlet.model.accounts import Project
from circlet.model.configs import WorkflowJob, WorkflowPlan
from circlet.model.pipelines import Job, Pipeline, Workflow
from circlet.store import jobs as job_store
from circlet.store import workflows as workflow_store


@dataclass(frozen=True, slots=True)
class PlannedJob:
    planned: WorkflowJob
    runs: bool  #: the trigger selects it (and its workflow)
    job: Job | None  #: the job that ran for it, when one did


@dataclass(frozen=True, slots=True)
class PlannedWorkflow:
    plan: WorkflowPlan
    jobs: list[PlannedJob]
    workflow: Workflow | None  #: the latest run of it in this pipeline, when it ran


@dataclass(frozen=True, slots=True)
class PipelinePlan:
    trigger: str  #: "branch main", "tag v1.2"
    workflows: list[PlannedWorkflow]
    problems: tuple[str, ...] = ()  #: why the config does not compile (then there is no plan)
    setup: bool = False  #: a setup config


def trigger_of(pipeline: Pipeline) -> str:
    return f"tag {pipeline.tag}" if pipeline.tag else f"branch {pipeline.branch or ''}"


async def pipeline_plan(tx: AsyncSession, pipeline: Pipeline, project: Project) -> PipelinePlan:
    """The plan of ``pipeline``'s stored config (access already checked by the caller)."""
    if not pipeline.config_source:
        return PipelinePlan(trigger_of(pipeline), [], ("No configuration was read for this pipeline.",))
    request = TriggerRequest(trigger_type=pipeline.trigger_type, trigger_source=pipeline.trigger_type)
    values = pipeline_values(pipeline, project, request)
    orbs = StoreOrbSource(tx)
    source, parameters = pipeline.config_source, dict(pipeline.parameters)
    try:
        compiled = await anyio.to_thread.run_sync(
            lambda: compile_config(
                source,
                values=values,
                parameters=parameters,
                orbs=orbs,
                file=CONFIG_PATH,
                check_schema=False,
            )
        )
    except ConfigInvalid as exc:
        return PipelinePlan(trigger_of(pipeline), [], tuple(str(p) for p in exc.problems))
    ran = await _ran(tx, pipeline)
    return PipelinePlan(
        trigger_of(pipeline), [_planned(plan, ran) for plan in compiled.workflows], setup=compiled.setup
    )


async def _ran(tx: AsyncSession, pipeline: Pipeline) -> dict[str, tuple[Workflow, dict[str, Job]]]:
    """The pipeline's workflows by name (the latest run of each) with their jobs by name."""
    found = await workflow_store.list_workflows_of_pipelines(tx, [pipeline.id])
    latest = {w.name: w for w in found.get(pipeline.id, [])}
    return {
        name: (w, {j.name: j for j in await job_store.list_workflow_jobs(tx, w.id)})
        for name, w in latest.items()
    }


def _planned(plan: WorkflowPlan, ran: dict[str, tuple[Workflow, dict[str, Job]]]) -> PlannedWorkflow:
    workflow, jobs = ran.get(plan.name, (None, {}))
    return PlannedWorkflow(
        plan,
        [PlannedJob(j, j.runs and plan.runs, jobs.get(j.name)) for j in plan.jobs],
        workflow,
    )
