"""Triggering a pipeline: resolve the ref, read and compile the config, create workflows and jobs."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from circlet import vcs
from circlet.compiler import compile_config
from circlet.engine import continuation
from circlet.engine.orbs import StoreOrbSource
from circlet.engine.progress import advance_workflow
from circlet.engine.serialize import job_definition_to_json
from circlet.errors import BadRequest, ConfigInvalid, NotFound, VcsError
from circlet.model.accounts import Project, User
from circlet.model.configs import CompiledConfig, WorkflowPlan
from circlet.model.pipelines import Pipeline
from circlet.model.statuses import JobStatus, JobType, PipelineState, WorkflowStatus
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import workflows as workflow_store
from circlet.store._types import utcnow
from circlet.types import PipelineId, WorkflowId

CONFIG_PATH = ".circleci/config.yml"
VCS_PROVIDERS = {"gh": "GitHub", "bb": "Bitbucket", "circleci": "CircleCI"}
PROJECT_TYPES = {"gh": "github", "bb": "bitbucket", "circleci": "circleci"}

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerRequest:
    branch: str | None = None
    tag: str | None = None
    revision: str | None = None
    parameters: Mapping[str, Any] | None = None
    trigger_type: str = "api"  #: api | webhook | schedule
    trigger_source: str = "api"  #: pipeline.trigger_source
    config_override: str | None = None  #: a config given by the caller instead of the repository's
    schedule_name: str = ""
    schedule_id: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerSource:
    """What a trigger reads from git: fetched by :func:`fetch_source` before any transaction opens, so
    git (a mirror fetch, ``git show``) never holds the database."""

    received_at: datetime
    branch: str | None
    commit: vcs.Commit
    config: str | None  #: the config to compile; None when the repository has none at that commit


async def fetch_source(project: Project, request: TriggerRequest, *, mirrors_dir: Path) -> TriggerSource:
    """Resolve the trigger's ref and read its config.

    Raises:
        BadRequest: the branch, tag or revision does not exist in the project's repository.
    """
    if request.branch and request.tag:
        raise BadRequest("Specify a branch or a tag, not both.")
    received_at = utcnow()
    branch = request.branch if (request.branch or request.tag) else project.default_branch
    repo = await _repo(project, mirrors_dir)
    try:
        commit = await vcs.resolve_commit(repo, branch=branch, tag=request.tag, revision=request.revision)
    except NotFound as exc:
        raise BadRequest(str(exc)) from exc
    source = request.config_override
    if source is None:
        source = await vcs.read_file(repo, commit.revision, CONFIG_PATH)
    return TriggerSource(received_at=received_at, branch=branch, commit=commit, config=source)


async def trigger_pipeline(
    tx: AsyncSession,
    project: Project,
    actor: User | None,
    request: TriggerRequest,
    *,
    mirrors_dir: Path,
    fetched: TriggerSource | None = None,
) -> Pipeline:
    """Create a pipeline and its workflows. A config problem still creates it, ``errored``.

    ``fetched`` is the trigger's :func:`fetch_source`, done before ``tx`` opened (read here when None).

    Raises:
        BadRequest: the branch, tag or revision does not exist in the project's repository.
    """
    if fetched is None:
        fetched = await fetch_source(project, request, mirrors_dir=mirrors_dir)
    branch, commit = fetched.branch, fetched.commit
    revision = commit.revision
    number = await project_store.next_pipeline_number(tx, project.id)
    pipeline_id = await pipeline_store.create_pipeline(
        tx,
        project_id=project.id,
        number=number,
        trigger_type=request.trigger_type,
        actor_id=actor.id if actor else None,
        branch=branch if not request.tag else None,
        tag=request.tag,
        revision=revision,
        vcs=_vcs_info(project, branch if not request.tag else None, request.tag, commit),
        parameters=dict(request.parameters or {}),
        trigger_parameters=dict(request.parameters or {}),
        received_at=fetched.received_at,
    )
    source = fetched.config
    if source is None:
        await _error(
            tx,
            pipeline_id,
            "config-fetch",
            f"{CONFIG_PATH} not found at {revision[:12]}: no configuration was found in the project's repository at that commit.",
        )
        return await pipeline_store.get_pipeline(tx, pipeline_id)
    pipeline = await pipeline_store.get_pipeline(tx, pipeline_id)
    await compile_and_start(tx, pipeline, project, source, request)
    return await pipeline_store.get_pipeline(tx, pipeline_id)


async def compile_and_start(
    tx: AsyncSession, pipeline: Pipeline, project: Project, source: str, request: TriggerRequest
) -> None:
    """Compile ``source`` for ``pipeline`` and create its workflows, or mark it errored."""
    values = pipeline_values(pipeline, project, request)
    orbs = StoreOrbSource(tx)
    try:
        compiled = await anyio.to_thread.run_sync(
            lambda: compile_config(
                source,
                values=values,
                parameters=request.parameters or {},
                orbs=orbs,
                file=CONFIG_PATH,
                check_schema=False,  # schema findings are warnings, and a pipeline keeps none
            )
        )
    except ConfigInvalid as exc:
        await pipeline_store.update_pipeline(
            tx,
            pipeline.id,
            state=PipelineState.ERRORED,
            config_source=source,
            errors=[{"type": "config", "message": str(p)} for p in exc.problems],
        )
        return
    # a setup config that runs no workflow for this trigger has nothing that could continue it: the
    # pipeline is created with no workflows, like any config whose filters rule everything out
    setup = compiled.setup and any(_runs(plan) for plan in compiled.workflows)
    state = PipelineState.SETUP_PENDING if setup else PipelineState.CREATED
    await pipeline_store.update_pipeline(
        tx,
        pipeline.id,
        state=state,
        config_source=source,
        config_compiled=compiled.processed_yaml,
        parameters=dict(compiled.parameters),
        errors=[],
        **(
            {"setup_config": source, "setup_config_compiled": compiled.processed_yaml}
            if compiled.setup
            else {}
        ),
    )
    sealed_key = await continuation.issue_key(tx, pipeline) if setup else None
    await start_workflows(
        tx, pipeline, compiled, actor_id=pipeline.actor_id, setup=setup, continuation_key=sealed_key
    )


#: Pipeline values for a config compiled outside any pipeline (``compile-config-with-defaults``)
PREVIEW_VALUES: dict[str, Any] = {
    "pipeline.id": "00000000-0000-0000-0000-000000000000",
    "pipeline.number": 1,
    "pipeline.git.branch": "main",
    "pipeline.git.branch.is_default": True,
    "pipeline.trigger_source": "api",
    "pipeline.event.name": "api",
    "pipeline.trigger_parameters.circleci.trigger_type": "api",
}


async def compile_preview(
    tx: AsyncSession, source: str, *, values: Mapping[str, Any], parameters: Mapping[str, Any]
) -> CompiledConfig:
    """Compile ``source`` outside any pipeline, with registry orbs, for editors and tools.

    ``values`` (``pipeline.git.branch`` or ``git.branch``...) override :data:`PREVIEW_VALUES`.

    Raises:
        ConfigInvalid: with every problem found.
    """
    merged = {
        **PREVIEW_VALUES,
        **{k if k.startswith("pipeline.") else f"pipeline.{k}": v for k, v in values.items()},
    }
    orbs = StoreOrbSource(tx)
    return await anyio.to_thread.run_sync(
        lambda: compile_config(
            source, values=merged, parameters=parameters, orbs=orbs, file=CONFIG_PATH, check_schema=False
        )
    )


async def start_workflows(
    tx: AsyncSession,
    pipeline: Pipeline,
    compiled: CompiledConfig,
    *,
    actor_id: str | None,
    setup: bool = False,
    continuation_key: str | None = None,
) -> list[WorkflowId]:
    """Create the workflows the trigger runs. ``continuation_key`` (sealed) goes into each job of a setup
    workflow, which hands it to the job's environment."""
    created = []
    for plan in compiled.workflows:
        if _runs(plan):
            created.append(
                await _create_workflow(
                    tx,
                    pipeline,
                    compiled,
                    plan,
                    actor_id=actor_id,
                    setup=setup,
                    continuation_key=continuation_key,
                )
            )
    return created


def _runs(plan: WorkflowPlan) -> bool:
    """The trigger runs the workflow and at least one of its jobs."""
    return plan.runs and any(job.runs for job in plan.jobs)


async def _create_workflow(
    tx: AsyncSession,
    pipeline: Pipeline,
    compiled: CompiledConfig,
    plan: WorkflowPlan,
    *,
    actor_id: str | None,
    setup: bool,
    continuation_key: str | None = None,
) -> WorkflowId:
    workflow_id = await workflow_store.create_workflow(
        tx,
        pipeline_id=pipeline.id,
        project_id=pipeline.project_id,
        name=plan.name,
        status=WorkflowStatus.RUNNING,
        started_by=actor_id,
        tag="setup" if setup else None,
        auto_reruns_left=0 if setup else plan.max_auto_reruns,  # a setup workflow cannot run twice
    )
    jobs = [j for j in plan.jobs if j.runs]
    numbers = iter(
        await project_store.take_job_numbers(
            tx, pipeline.project_id, sum(j.type is JobType.BUILD for j in jobs)
        )
    )
    now = utcnow()
    for job in jobs:
        definition = compiled.jobs.get(job.job) if job.type is JobType.BUILD else None
        await job_store.create_job(
            tx,
            workflow_id=workflow_id,
            pipeline_id=pipeline.id,
            project_id=pipeline.project_id,
            number=next(numbers) if job.type is JobType.BUILD else None,
            name=job.name,
            type=job.type,
            status=JobStatus.BLOCKED,
            requires=job.requires,
            requires_statuses=job.requires_statuses,
            contexts=job.contexts,
            definition={
                **(job_definition_to_json(definition) if definition else {}),
                **({continuation.DEFINITION_FIELD: continuation_key} if continuation_key else {}),
            },
            resource_class=definition.executor.resource_class if definition else "",
            parallelism=definition.parallelism if definition else 1,
            created_at=now,
        )
    await advance_workflow(tx, workflow_id)
    return workflow_id


async def _error(tx: AsyncSession, pipeline_id: PipelineId, kind: str, message: str) -> None:
    await pipeline_store.update_pipeline(
        tx, pipeline_id, state=PipelineState.ERRORED, errors=[{"type": kind, "message": message}]
    )


async def _repo(project: Project, mirrors_dir: Path) -> str:
    try:
        return await vcs.local_repo(project.repo_url, os.fspath(mirrors_dir / f"{project.id}.git"))
    except VcsError as exc:
        raise BadRequest(str(exc)) from exc


def _vcs_info(project: Project, branch: str | None, tag: str | None, commit: vcs.Commit) -> dict[str, Any]:
    info: dict[str, Any] = {
        "provider_name": VCS_PROVIDERS.get(project.vcs_type, "GitHub"),
        "origin_repository_url": project.repo_url,
        "target_repository_url": project.repo_url,
        "revision": commit.revision,
        "commit": {"subject": commit.subject, "body": commit.body},
    }
    if branch:
        info["branch"] = branch
    if tag:
        info["tag"] = tag
    return info


def pipeline_values(pipeline: Pipeline, project: Project, request: TriggerRequest) -> dict[str, Any]:
    """The ``pipeline.*`` values a config may reference."""
    values: dict[str, Any] = {
        "pipeline.id": pipeline.id,
        "pipeline.number": pipeline.number,
        "pipeline.project.git_url": project.repo_url,
        "pipeline.project.type": PROJECT_TYPES.get(project.vcs_type, "github"),
        "pipeline.git.branch": pipeline.branch or "",
        "pipeline.git.tag": pipeline.tag or "",
        "pipeline.git.revision": pipeline.revision,
        "pipeline.git.base_revision": "",
        "pipeline.git.branch.is_default": pipeline.branch == project.default_branch,
        "pipeline.trigger_source": request.trigger_source,
        "pipeline.schedule.name": request.schedule_name,
        "pipeline.schedule.id": request.schedule_id,
        "pipeline.event.name": "push" if request.trigger_type == "webhook" else request.trigger_type,
        "pipeline.trigger_parameters.circleci.trigger_type": request.trigger_type,
        "pipeline.trigger_parameters.git.branch": pipeline.branch or "",
        "pipeline.trigger_parameters.git.tag": pipeline.tag or "",
        "pipeline.trigger_parameters.git.checkout_sha": pipeline.revision,
        "pipeline.trigger_parameters.git.commit_message": pipeline.vcs.get("commit", {}).get("subject", ""),
    }
    return values
