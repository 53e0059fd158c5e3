"""The v1.1 subset still in use: recent builds, build cancel and retry, and the legacy triggers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet import vcs
from circlet.compiler import declared_parameters
from circlet.engine import access, control, test_uploads
from circlet.engine import artifacts as artifact_engine
from circlet.engine.pipelines import CONFIG_PATH, TriggerRequest, trigger_pipeline
from circlet.errors import BadRequest, ConfigInvalid, NotFound, VcsError
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Job, Pipeline, Workflow
from circlet.model.statuses import FINAL_JOB_STATUSES
from circlet.model.storage import Artifact
from circlet.model.tests import TestCase
from circlet.store import accounts as account_store
from circlet.store import jobs as job_store
from circlet.store import legacy_builds as build_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import workflows as workflow_store

MAX_LIMIT = 100  #: CircleCI's cap on ``limit``
FILTERS: dict[str, frozenset[str] | None] = {
    "": None,
    "completed": frozenset(s.value for s in FINAL_JOB_STATUSES),
    "successful": frozenset({"success"}),
    "failed": frozenset({"failed", "timedout", "infrastructure_fail"}),
    "running": frozenset({"running", "queued"}),
}


@dataclass(frozen=True, slots=True)
class Build:
    """A build job with what its v1.1 summary shows."""

    job: Job
    project: Project
    pipeline: Pipeline
    workflow: Workflow


async def recent_builds(
    tx: AsyncSession,
    user: User,
    *,
    slug: str | None = None,
    branch: str | None = None,
    status_filter: str | None = None,
    limit: int = 30,
    offset: int = 0,
) -> list[Build]:
    """Build jobs of one project (``slug``) or of every project the user can see, newest first."""
    if status_filter not in FILTERS and status_filter is not None:
        raise BadRequest("filter must be one of completed, successful, failed, running.")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}; offset must not be negative.")
    if slug:
        projects = [await access.project_for(tx, user, slug)]
    else:
        projects = await project_store.list_projects(tx, await account_store.user_org_ids(tx, user.id))
    ids = await build_store.recent_job_ids(
        tx,
        [p.id for p in projects],
        branch=branch,
        statuses=FILTERS[status_filter or ""],
        limit=limit,
        offset=offset,
    )
    by_id: dict[str, Project] = {p.id: p for p in projects}
    return [await _build(tx, await job_store.get_job(tx, i), by_id) for i in ids]


async def _build(tx: AsyncSession, job: Job, projects: Mapping[str, Project]) -> Build:
    project = projects.get(job.project_id) or await project_store.get_project(tx, job.project_id)
    pipeline = await pipeline_store.get_pipeline(tx, job.pipeline_id)
    workflow = await workflow_store.get_workflow(tx, job.workflow_id)
    return Build(job, project, pipeline, workflow)


async def build(tx: AsyncSession, user: User, slug: str, number: int) -> Build:
    project, job = await access.job_by_number(tx, user, slug, number)
    return await _build(tx, job, {project.id: project})


async def cancel_build(tx: AsyncSession, user: User, slug: str, number: int) -> Build:
    found = await build(tx, user, slug, number)
    await control.cancel_job(tx, user, found.job.id)
    return await build(tx, user, slug, number)


async def retry_build(tx: AsyncSession, user: User, slug: str, number: int) -> Build:
    """Run the build's job again (and what requires it) in a rerun of its workflow; the new build."""
    found = await build(tx, user, slug, number)
    workflow_id = await control.rerun_workflow(tx, user, found.job.workflow_id, jobs=[found.job.id])
    rerun = next(j for j in await job_store.list_workflow_jobs(tx, workflow_id) if j.name == found.job.name)
    return await _build(tx, rerun, {found.project.id: found.project})


async def legacy_trigger(
    tx: AsyncSession,
    user: User,
    slug: str,
    *,
    branch: str | None,
    tag: str | None,
    revision: str | None,
    build_parameters: Mapping[str, Any],
    mirrors_dir: Path,
) -> Pipeline:
    """Create a pipeline as v1.1 triggers did; ``build_parameters`` become pipeline parameters where the
    config at that commit declares them (others are ignored: 2.1 configs cannot read them)."""
    project = await access.project_for(tx, user, slug)
    parameters = await _declared(project, branch, tag, revision, build_parameters, mirrors_dir)
    request = TriggerRequest(branch=branch, tag=tag, revision=revision, parameters=parameters)
    return await trigger_pipeline(tx, project, user, request, mirrors_dir=mirrors_dir)


async def _declared(
    project: Project,
    branch: str | None,
    tag: str | None,
    revision: str | None,
    given: Mapping[str, Any],
    mirrors_dir: Path,
) -> dict[str, Any]:
    if not given:
        return {}
    try:
        repo = await vcs.local_repo(project.repo_url, str(mirrors_dir / f"{project.id}.git"))
        commit = await vcs.resolve_ref(
            repo, branch=branch or (None if tag else project.default_branch), tag=tag, revision=revision
        )
        source = await vcs.read_file(repo, commit, CONFIG_PATH)
        declared = declared_parameters(source) if source else {}
    except (VcsError, NotFound, ConfigInvalid):
        return {}  # trigger_pipeline reports the problem itself
    return {
        name: _coerce(declared[name].get("type", "string"), value)
        for name, value in given.items()
        if name in declared
    }


def _coerce(kind: str, value: Any) -> Any:
    """build_parameters were strings; pipeline parameters are typed."""
    if not isinstance(value, str):
        return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "integer" and value.lstrip("-").isdigit():
        return int(value)
    return value


async def visible_projects(tx: AsyncSession, user: User) -> list[Project]:
    return await project_store.list_projects(tx, await account_store.user_org_ids(tx, user.id))


async def first_build(tx: AsyncSession, user: User, project: Project, pipeline: Pipeline) -> Build | None:
    """The lowest-numbered build job of a pipeline's first workflow, if any."""
    del user
    page = await workflow_store.list_pipeline_workflows(tx, pipeline.id)
    for workflow in page.items:
        builds = [j for j in await job_store.list_workflow_jobs(tx, workflow.id) if j.number is not None]
        if builds:
            job = min(builds, key=lambda j: j.number or 0)
            return Build(job, project, pipeline, workflow)
    return None


async def artifacts(tx: AsyncSession, user: User, slug: str, number: int) -> tuple[Job, list[Artifact]]:
    """A build's artifacts (what its ``store_artifacts`` steps uploaded)."""
    return await artifact_engine.job_artifacts(tx, user, slug, number)


async def tests(tx: AsyncSession, user: User, slug: str, number: int) -> list[dict[str, Any]]:
    """All of a build's recorded test cases, in v1.1's shape."""
    cases: list[TestCase] = []
    token: str | None = None
    while True:
        page, token = await test_uploads.job_tests(tx, user, slug, number, token)
        cases.extend(page)
        if token is None:
            break
    return [
        {
            "classname": case.classname,
            "file": case.file,
            "name": case.name,
            "result": case.result.value,
            "run_time": case.run_time,
            "message": case.message,
            "source": case.source or "unknown",
            "source_type": case.source or "unknown",
        }
        for case in cases
    ]
