"""Reads behind the web UI's pages: who a session belongs to, project cards, pipeline rows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from circlet import vcs
from circlet.engine.pipelines import CONFIG_PATH
from circlet.errors import NotFound, VcsError
from circlet.insights import runs as insight_runs
from circlet.insights.runs import RecentRun
from circlet.model.accounts import Org, Project, User
from circlet.model.pipelines import Job, Pipeline, Workflow
from circlet.model.statuses import PipelineState, WorkflowStatus
from circlet.model.storage import Artifact
from circlet.model.tests import TestCase, TestOutcome
from circlet.store import accounts as account_store
from circlet.store import artifacts as artifact_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import test_uploads as upload_store
from circlet.store import workflows as workflow_store
from circlet.store.pages import Page

PIPELINES_PER_PAGE = 20
MAX_TESTS_SHOWN = 500  #: a job page lists at most this many test cases

#: When several workflows of one pipeline differ, the pipeline shows the first of these it has.
_PRECEDENCE = (
    WorkflowStatus.RUNNING,
    WorkflowStatus.FAILING,
    WorkflowStatus.ON_HOLD,
    WorkflowStatus.ERROR,
    WorkflowStatus.UNAUTHORIZED,
    WorkflowStatus.FAILED,
    WorkflowStatus.CANCELED,
    WorkflowStatus.SUCCESS,
    WorkflowStatus.NOT_RUN,
)


@dataclass(frozen=True, slots=True)
class PipelineSummary:
    """A pipeline with its workflows and the status and times a list shows for it."""

    pipeline: Pipeline
    workflows: list[Workflow]
    status: str  #: a workflow status, or a pipeline state when it has no workflows
    stopped_at: datetime | None  #: when the last workflow stopped; None while any runs


@dataclass(frozen=True, slots=True)
class ProjectCard:
    project: Project
    latest: PipelineSummary | None


async def user_for_token(tx: AsyncSession, token: str) -> User | None:
    """The user a personal API token belongs to, or None when it is unknown or revoked."""
    return await account_store.user_for_token(tx, token)


def pipeline_status(pipeline: Pipeline, workflows: list[Workflow]) -> str:
    """One status for a pipeline: its state when it has no workflows, else its most telling workflow's."""
    if pipeline.state is PipelineState.ERRORED or not workflows:
        return pipeline.state.value
    present = {w.status for w in workflows}
    return next((s.value for s in _PRECEDENCE if s in present), workflows[0].status.value)


def summarize(pipeline: Pipeline, workflows: list[Workflow]) -> PipelineSummary:
    """A pipeline's list entry from its workflows (oldest first)."""
    stops = [w.stopped_at for w in workflows]
    stopped = max((s for s in stops if s), default=None) if stops and all(stops) else None
    return PipelineSummary(pipeline, workflows, pipeline_status(pipeline, workflows), stopped)


async def pipeline_summary(tx: AsyncSession, pipeline: Pipeline) -> PipelineSummary:
    workflows = (await workflow_store.list_pipeline_workflows(tx, pipeline.id, page_size=100)).items
    return summarize(pipeline, workflows)


async def pipeline_summaries(tx: AsyncSession, pipelines: list[Pipeline]) -> list[PipelineSummary]:
    """Summaries of several pipelines, their workflows read at once."""
    workflows = await workflow_store.list_workflows_of_pipelines(tx, [p.id for p in pipelines])
    return [summarize(p, workflows.get(p.id, [])) for p in pipelines]


async def pipeline_rows(
    tx: AsyncSession, project: Project, *, branch: str | None, page_token: str | None
) -> Page[PipelineSummary]:
    """A page of the project's pipelines, newest first, each with its workflows (two reads); the
    pipelines' config texts are not read (a list shows none of them)."""
    page = await pipeline_store.list_pipelines(
        tx,
        project_ids=[project.id],
        branch=branch,
        page_token=page_token,
        page_size=PIPELINES_PER_PAGE,
        config=False,
    )
    return Page(await pipeline_summaries(tx, page.items), page.next_page_token)


async def project_cards(tx: AsyncSession, user: User) -> list[tuple[Org, list[ProjectCard]]]:
    """The user's orgs, each with its projects and their latest pipeline."""
    orgs = await account_store.list_user_orgs(tx, user.id)
    projects = await project_store.list_projects(tx, {o.id for o in orgs})
    cards: list[tuple[Org, list[ProjectCard]]] = []
    for org in orgs:
        mine = []
        for project in (p for p in projects if p.org_id == org.id):
            latest = await pipeline_store.list_pipelines(
                tx, project_ids=[project.id], page_size=1, config=False
            )
            summary = await pipeline_summary(tx, latest.items[0]) if latest.items else None
            mine.append(ProjectCard(project, summary))
        cards.append((org, mine))
    return cards


async def config_at_ref(
    project: Project, *, branch: str | None, tag: str | None, mirrors_dir: Path
) -> str | None:
    """The project's ``.circleci/config.yml`` at a branch or tag, or None when it cannot be read."""
    try:
        repo = await vcs.local_repo(project.repo_url, os.fspath(mirrors_dir / f"{project.id}.git"))
        revision = await vcs.resolve_ref(
            repo, branch=None if tag else (branch or project.default_branch), tag=tag, revision=None
        )
        return await vcs.read_file(repo, revision, CONFIG_PATH)
    except (NotFound, VcsError):
        return None


async def workflow_run_points(
    tx: AsyncSession,
    project: Project,
    workflow_name: str,
    *,
    branch: str | None,
    start: datetime,
    end: datetime,
    limit: int = 500,
) -> list[RecentRun]:
    """The workflow's finished runs in ``[start, end]`` (newest first, at most ``limit``) for a chart."""
    page = await insight_runs.recent_runs(
        tx, project.id, workflow_name, branch=branch, start=start, end=end, page_token=None, page_size=limit
    )
    return page.items


#: Failures first, then errors, skipped, passed.
_OUTCOME_ORDER = {
    TestOutcome.FAILURE: 0,
    TestOutcome.ERROR: 1,
    TestOutcome.SKIPPED: 2,
    TestOutcome.SUCCESS: 3,
}


@dataclass(frozen=True, slots=True)
class JobExtras:
    tests: list[TestCase]  #: failures first, each group in recorded order
    tests_total: int  #: how many the job recorded (``tests`` may hold fewer)
    artifacts: list[Artifact]


async def job_extras(tx: AsyncSession, job: Job, *, max_tests: int = MAX_TESTS_SHOWN) -> JobExtras:
    """The job's test results and stored artifacts (access already checked by the caller)."""
    rows = await upload_store.job_test_cases(tx, job.id, after_id=0, limit=max_tests + 1)
    cases = sorted((case for _, case in rows[:max_tests]), key=lambda c: _OUTCOME_ORDER.get(c.result, 9))
    artifacts = await artifact_store.list_artifacts(tx, job.id)
    return JobExtras(cases, len(rows), artifacts)
