"""Insights use cases: tenancy, defaults (default branch, reporting window) and paging around
``circlet.insights`` reads. Each takes the request's transaction and reads the clock once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.paging import paginate
from circlet.engine.slugs import normalize_org_slug
from circlet.errors import BadRequest, NotFound
from circlet.insights import reads, runs, test_metrics, timeseries
from circlet.insights.reads import Compared, NamedMetrics, ProjectSummary, WorkflowSummary
from circlet.insights.runs import RecentRun
from circlet.insights.test_metrics import FlakyTest, TestMetrics
from circlet.insights.test_results import record_test_results
from circlet.insights.timeseries import Granularity, TimeseriesPoint
from circlet.insights.windows import ReportingWindow, Window
from circlet.model.accounts import Project, User
from circlet.store import accounts as account_store
from circlet.store import projects as project_store
from circlet.store._types import utcnow
from circlet.store.pages import Page

MAX_RANGE = timedelta(days=90)
DEFAULT_WINDOW = ReportingWindow.LAST_90_DAYS

__all__ = ["record_test_results"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """Which runs a query covers: ``branch=None`` means all branches."""

    branch: str | None
    all_branches: bool = False


def scope_for(project: Project, branch: str | None, all_branches: bool | None) -> Scope:
    """CircleCI's rule: ``all-branches`` wins, then ``branch``, else the project's default branch."""
    if all_branches:
        return Scope(branch=None, all_branches=True)
    return Scope(branch=branch or project.default_branch)


def _window(value: str | None, now: datetime) -> Window:
    return Window.last(ReportingWindow.parse(value, DEFAULT_WINDOW), now)


def date_range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """CircleCI's ``start-date``/``end-date`` rules: end needs start, and at most 90 days apart."""
    if end is not None and start is None:
        raise BadRequest("start-date must be specified if end-date is provided.")
    end = end or now
    start = start or end - MAX_RANGE
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start-date and end-date must include a time zone (e.g. 2024-01-01T00:00:00Z).")
    if end - start > MAX_RANGE:
        raise BadRequest("end-date can be at most 90 days after start-date.")
    if end < start:
        raise BadRequest("end-date must not be before start-date.")
    return start, end


async def workflow_metrics(
    tx: AsyncSession,
    user: User,
    slug: str,
    *,
    branch: str | None,
    all_branches: bool | None,
    reporting_window: str | None,
    page_token: str | None,
) -> tuple[Project, Window, list[NamedMetrics], str | None]:
    project = await access.project_for(tx, user, slug)
    window = _window(reporting_window, utcnow())
    scope = scope_for(project, branch, all_branches)
    items = await reads.workflow_metrics(tx, project.id, window, branch=scope.branch)
    page, token = paginate(items, page_token)
    return project, window, page, token


async def job_metrics(
    tx: AsyncSession,
    user: User,
    slug: str,
    workflow_name: str,
    *,
    branch: str | None,
    all_branches: bool | None,
    reporting_window: str | None,
    job_name: str | None,
    page_token: str | None,
) -> tuple[Window, list[NamedMetrics], str | None]:
    project = await access.project_for(tx, user, slug)
    window = _window(reporting_window, utcnow())
    scope = scope_for(project, branch, all_branches)
    items = await reads.job_metrics(
        tx, project.id, workflow_name, window, branch=scope.branch, job_name=job_name
    )
    page, token = paginate(items, page_token)
    return window, page, token


async def workflow_runs(
    tx: AsyncSession,
    user: User,
    slug: str,
    workflow_name: str,
    *,
    branch: str | None,
    all_branches: bool | None,
    start: datetime | None,
    end: datetime | None,
    page_token: str | None,
) -> Page[RecentRun]:
    project = await access.project_for(tx, user, slug)
    start, end = date_range(start, end, utcnow())
    scope = scope_for(project, branch, all_branches)
    return await runs.recent_runs(
        tx, project.id, workflow_name, branch=scope.branch, start=start, end=end, page_token=page_token
    )


async def job_runs(
    tx: AsyncSession,
    user: User,
    slug: str,
    workflow_name: str,
    job_name: str,
    *,
    branch: str | None,
    all_branches: bool | None,
    start: datetime | None,
    end: datetime | None,
    page_token: str | None,
) -> Page[RecentRun]:
    project = await access.project_for(tx, user, slug)
    start, end = date_range(start, end, utcnow())
    scope = scope_for(project, branch, all_branches)
    return await runs.recent_runs(
        tx,
        project.id,
        workflow_name,
        job_name=job_name,
        branch=scope.branch,
        start=start,
        end=end,
        page_token=page_token,
    )


async def workflow_summary(
    tx: AsyncSession,
    user: User,
    slug: str,
    workflow_name: str,
    *,
    branch: str | None,
    all_branches: bool | None,
    reporting_window: str | None,
) -> tuple[Window, WorkflowSummary]:
    project = await access.project_for(tx, user, slug)
    window = _window(reporting_window, utcnow())
    scope = scope_for(project, branch, all_branches)
    summary = await reads.workflow_summary(tx, project.id, workflow_name, window, branch=scope.branch)
    return window, summary


async def workflow_test_metrics(
    tx: AsyncSession,
    user: User,
    slug: str,
    workflow_name: str,
    *,
    branch: str | None,
    all_branches: bool | None,
) -> TestMetrics:
    project = await access.project_for(tx, user, slug)
    scope = scope_for(project, branch, all_branches)
    return await test_metrics.test_metrics(tx, project.id, workflow_name, branch=scope.branch, now=utcnow())


async def branches(
    tx: AsyncSession, user: User, slug: str, *, workflow_name: str | None
) -> tuple[Project, list[str]]:
    project = await access.project_for(tx, user, slug)
    return project, await reads.branch_names(tx, project.id, utcnow(), workflow_name=workflow_name)


async def flaky_tests(tx: AsyncSession, user: User, slug: str) -> list[FlakyTest]:
    project = await access.project_for(tx, user, slug)
    return await test_metrics.flaky_tests(tx, project.id, utcnow())


async def project_summary(
    tx: AsyncSession,
    user: User,
    slug: str,
    *,
    reporting_window: str | None,
    branches: Sequence[str],
    workflow_names: Sequence[str],
) -> tuple[Project, ProjectSummary]:
    project = await access.project_for(tx, user, slug)
    window = _window(reporting_window, utcnow())
    summary = await reads.project_summary(tx, project.id, window, branches=branches, workflows=workflow_names)
    return project, summary


async def org_summary(
    tx: AsyncSession, user: User, org_slug: str, *, reporting_window: str | None, project_names: Sequence[str]
) -> tuple[Compared, list[tuple[Project, Compared]], list[str]]:
    """The org's totals and each project's (only projects with runs), plus every project name."""
    org = await account_store.find_org(tx, normalize_org_slug(org_slug))
    if org is None or org.id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Organization not found.")
    projects = await project_store.list_projects(tx, {org.id})
    chosen = [p for p in projects if not project_names or p.name in project_names]
    window = _window(reporting_window, utcnow())
    total, per_project = await reads.org_summary(tx, [p.id for p in chosen], window)
    listed = [(p, per_project[p.id]) for p in sorted(chosen, key=lambda p: p.name) if p.id in per_project]
    return total, listed, sorted(p.name for p in projects)


async def job_timeseries(
    tx: AsyncSession,
    user: User,
    slug: str,
    workflow_name: str,
    *,
    branch: str | None,
    granularity: str | None,
    start: datetime | None,
    end: datetime | None,
    page_token: str | None,
) -> tuple[list[TimeseriesPoint], str | None]:
    """Daily buckets by default (90 days); hourly buckets cover at most the last 48 hours."""
    project = await access.project_for(tx, user, slug)
    now = utcnow()
    try:
        grain = Granularity(granularity or Granularity.DAILY)
    except ValueError:
        raise BadRequest("granularity must be daily or hourly.") from None
    start, end = date_range(start, end, now)
    if grain is Granularity.HOURLY:
        start = max(start, now - timeseries.HOURLY_RETENTION)
    return await timeseries.job_timeseries(
        tx,
        project.id,
        workflow_name,
        branch=branch or project.default_branch,
        granularity=grain,
        start=start,
        end=end,
        page_token=page_token,
    )
