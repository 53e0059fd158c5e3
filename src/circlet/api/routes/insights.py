"""Insights (v2): workflow, job, branch, test and org metrics. Shapes follow the official spec; see
docs/insights.md for each formula."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.views import iso
from circlet.engine import insights
from circlet.insights.durations import DurationStats, whole_seconds
from circlet.insights.reads import Compared, NamedMetrics
from circlet.insights.runs import RecentRun
from circlet.insights.tally import RunMetrics, trend
from circlet.insights.test_metrics import FlakyTest, TestSummary

router = APIRouter(tags=["Insights"])

Branch = Annotated[str | None, Query()]
AllBranches = Annotated[bool | None, Query(alias="all-branches")]
PageToken = Annotated[str | None, Query(alias="page-token")]
Window = Annotated[str | None, Query(alias="reporting-window")]
StartDate = Annotated[datetime | None, Query(alias="start-date")]
EndDate = Annotated[datetime | None, Query(alias="end-date")]
PROJECT = "/insights/{vcs}/{org}/{repo}"


async def _slug(vcs: str, org: str, repo: str) -> str:
    return f"{vcs}/{org}/{repo}"


Slug = Annotated[str, Depends(_slug)]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectQuery:
    """The path's project and the branch scope (``branch``, ``all-branches``) most endpoints take."""

    slug: str
    branch: str | None
    all_branches: bool | None


async def _project_query(slug: Slug, branch: Branch = None, all_branches: AllBranches = None) -> ProjectQuery:
    return ProjectQuery(slug=slug, branch=branch, all_branches=all_branches)


@dataclass(frozen=True, kw_only=True, slots=True)
class DateQuery:
    """``start-date``/``end-date`` (checked by the engine) and ``page-token``, for run lists and series."""

    start: datetime | None
    end: datetime | None
    page_token: str | None


async def _date_query(
    start_date: StartDate = None, end_date: EndDate = None, page_token: PageToken = None
) -> DateQuery:
    return DateQuery(start=start_date, end=end_date, page_token=page_token)


Project = Annotated[ProjectQuery, Depends(_project_query)]
Dates = Annotated[DateQuery, Depends(_date_query)]


def _durations(stats: DurationStats, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"min": stats.min, "median": stats.median, "max": stats.max, "p95": stats.p95}
    if full:
        out |= {"mean": stats.mean, "standard_deviation": stats.standard_deviation}
    else:
        out["total"] = stats.total
    return out


def _run_metrics(m: RunMetrics, *, workflow: bool) -> dict[str, Any]:
    out = {
        "total_runs": m.total_runs,
        "successful_runs": m.successful_runs,
        "failed_runs": m.failed_runs,
        "success_rate": m.success_rate,
        "throughput": m.throughput,
        "total_credits_used": 0,
        "duration_metrics": _durations(m.durations),
    }
    if workflow:
        out |= {"mttr": m.mttr, "total_recoveries": m.total_recoveries}
    return out


def _named_json(item: NamedMetrics, *, workflow: bool) -> dict[str, Any]:
    """A workflow's or job's metrics over a window, with the first and last run time seen in it."""
    return {
        "name": item.name,
        "metrics": _run_metrics(item.metrics, workflow=workflow),
        "window_start": iso(item.metrics.first_at),
        "window_end": iso(item.metrics.last_at),
    }


@router.get("/insights/time-series/{vcs}/{org}/{repo}/workflows/{workflow_name}/jobs")
async def job_timeseries(
    workflow_name: str,
    tx: TxDep,
    user: CurrentUser,
    slug: Slug,
    dates: Dates,
    branch: Branch = None,
    granularity: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    points, token = await insights.job_timeseries(
        tx, user, slug, workflow_name, branch=branch, granularity=granularity,
        start=dates.start, end=dates.end, page_token=dates.page_token,
    )  # fmt: skip
    items = [
        {
            "name": p.name,
            "min_started_at": iso(p.min_started_at),
            "max_ended_at": iso(p.max_ended_at),
            "timestamp": iso(p.timestamp),
            "metrics": {
                "total_runs": p.metrics.total_runs,
                "failed_runs": p.metrics.failed_runs,
                "successful_runs": p.metrics.successful_runs,
                "throughput": p.metrics.throughput,
                "median_credits_used": 0,
                "total_credits_used": 0,
                "duration_metrics": _durations(p.metrics.durations, full=False)
                | {"total": p.metrics.total_duration_s},
            },
        }
        for p in points
    ]
    return {"items": items, "next_page_token": token}


def _compared(c: Compared, keys: tuple[str, ...]) -> dict[str, Any]:
    values = {
        "total_runs": (c.current.total_runs, c.previous.total_runs),
        "total_duration_secs": (c.current.total_duration_s, c.previous.total_duration_s),
        "total_credits_used": (0, 0),
        "success_rate": (c.current.success_rate, c.previous.success_rate),
        "throughput": (c.current.throughput, c.previous.throughput),
        "p95_duration_secs": (c.current.durations.p95 or 0, c.previous.durations.p95),
    }
    return {
        "metrics": {k: values[k][0] for k in keys},
        "trends": {k: trend(*values[k]) for k in keys},
    }


SUMMARY_KEYS = ("total_runs", "total_duration_secs", "total_credits_used", "success_rate", "throughput")
WORKFLOW_KEYS = ("total_credits_used", "p95_duration_secs", "total_runs", "success_rate")
PROJECT_KEYS = ("total_credits_used", "total_duration_secs", "total_runs", "success_rate")


@router.get("/insights/pages/{vcs}/{org}/{repo}/summary")
async def project_summary(
    tx: TxDep,
    user: CurrentUser,
    slug: Slug,
    reporting_window: Window = None,
    branches: Annotated[list[str] | None, Query()] = None,
    workflow_names: Annotated[list[str] | None, Query(alias="workflow-names")] = None,
) -> dict[str, Any]:
    project, summary = await insights.project_summary(
        tx, user, slug, reporting_window=reporting_window,
        branches=branches or [], workflow_names=workflow_names or [],
    )  # fmt: skip
    return {
        "org_id": project.org_id,
        "project_id": project.id,
        "project_data": _compared(summary.project, SUMMARY_KEYS),
        "project_workflow_data": [
            {"workflow_name": c.name} | _compared(c, WORKFLOW_KEYS) for c in summary.workflows
        ],
        "project_workflow_branch_data": [
            {"workflow_name": c.name, "branch": c.branch} | _compared(c, WORKFLOW_KEYS)
            for c in summary.workflow_branches
        ],
        "all_branches": list(summary.all_branches),
        "all_workflows": list(summary.all_workflows),
    }


@router.get(PROJECT + "/workflows")
async def workflow_metrics(
    tx: TxDep,
    user: CurrentUser,
    q: Project,
    reporting_window: Window = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    project, _window, items, token = await insights.workflow_metrics(
        tx, user, q.slug, branch=q.branch, all_branches=q.all_branches,
        reporting_window=reporting_window, page_token=page_token,
    )  # fmt: skip
    return {
        "items": [_named_json(item, workflow=True) | {"project_id": project.id} for item in items],
        "next_page_token": token,
    }


def _recent_json(run: RecentRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "branch": run.branch,
        "duration": run.duration_s,
        "created_at": iso(run.created_at),
        "stopped_at": iso(run.stopped_at),
        "credits_used": 0,
        "status": run.status,
        "is_approval": run.is_approval,
    }


@router.get(PROJECT + "/workflows/{workflow_name}")
async def workflow_runs(
    workflow_name: str, tx: TxDep, user: CurrentUser, q: Project, dates: Dates
) -> dict[str, Any]:
    page = await insights.workflow_runs(
        tx, user, q.slug, workflow_name, branch=q.branch, all_branches=q.all_branches,
        start=dates.start, end=dates.end, page_token=dates.page_token,
    )  # fmt: skip
    return {"items": [_recent_json(r) for r in page.items], "next_page_token": page.next_page_token}


@router.get(PROJECT + "/workflows/{workflow_name}/jobs")
async def job_metrics(
    workflow_name: str,
    tx: TxDep,
    user: CurrentUser,
    q: Project,
    reporting_window: Window = None,
    job_name: Annotated[str | None, Query(alias="job-name")] = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    _window, items, token = await insights.job_metrics(
        tx, user, q.slug, workflow_name, branch=q.branch, all_branches=q.all_branches,
        reporting_window=reporting_window, job_name=job_name, page_token=page_token,
    )  # fmt: skip
    return {"items": [_named_json(item, workflow=False) for item in items], "next_page_token": token}


@router.get(PROJECT + "/workflows/{workflow_name}/jobs/{job_name}")
async def job_runs(
    workflow_name: str, job_name: str, tx: TxDep, user: CurrentUser, q: Project, dates: Dates
) -> dict[str, Any]:
    """Recent runs of one job (an older endpoint, no longer in the spec, still used by clients)."""
    page = await insights.job_runs(
        tx, user, q.slug, workflow_name, job_name, branch=q.branch, all_branches=q.all_branches,
        start=dates.start, end=dates.end, page_token=dates.page_token,
    )  # fmt: skip
    items = [
        {
            "id": r.id,
            "started_at": iso(r.created_at),
            "stopped_at": iso(r.stopped_at),
            "status": r.status,
            "duration": r.duration_s,
            "credits_used": 0,
            "job_number": r.number,
            "branch": r.branch,
        }
        for r in page.items
    ]
    return {"items": items, "next_page_token": page.next_page_token}


@router.get(PROJECT + "/workflows/{workflow_name}/summary")
async def workflow_summary(
    workflow_name: str, tx: TxDep, user: CurrentUser, q: Project, reporting_window: Window = None
) -> dict[str, Any]:
    window, summary = await insights.workflow_summary(
        tx, user, q.slug, workflow_name, branch=q.branch, all_branches=q.all_branches,
        reporting_window=reporting_window,
    )  # fmt: skip
    cur, prev = summary.current, summary.previous
    metrics = _run_metrics(cur, workflow=True) | {
        "completed_runs": cur.completed_runs,
        "window_start": iso(window.start),
        "window_end": iso(window.end),
    }
    metrics.pop("total_recoveries")
    pairs = {
        "total_runs": (cur.total_runs, prev.total_runs),
        "failed_runs": (cur.failed_runs, prev.failed_runs),
        "success_rate": (cur.success_rate, prev.success_rate),
        "p95_duration_secs": (cur.durations.p95, prev.durations.p95),
        "median_duration_secs": (cur.durations.median, prev.durations.median),
        "total_credits_used": (0, 0),
        "mttr": (cur.mttr, prev.mttr),
        "throughput": (cur.throughput, prev.throughput),
    }
    return {
        "metrics": metrics,
        "trends": {k: trend(*v) for k, v in pairs.items()},
        "workflow_names": list(summary.workflow_names),
    }


def _test_json(t: TestSummary) -> dict[str, Any]:
    return {
        "test_name": t.test_name,
        "classname": t.classname,
        "file": t.file,
        "source": t.source,
        "job_name": t.job_name,
        "total_runs": t.total_runs,
        "failed_runs": t.failed_runs,
        "p95_duration": t.p95_duration,
        "flaky": t.flaky,
    }


@router.get(PROJECT + "/workflows/{workflow_name}/test-metrics")
async def test_metrics(workflow_name: str, tx: TxDep, user: CurrentUser, q: Project) -> dict[str, Any]:
    m = await insights.workflow_test_metrics(
        tx, user, q.slug, workflow_name, branch=q.branch, all_branches=q.all_branches
    )
    return {
        "average_test_count": m.average_test_count,
        "most_failed_tests": [_test_json(t) for t in m.most_failed],
        "most_failed_tests_extra": m.most_failed_extra,
        "slowest_tests": [_test_json(t) for t in m.slowest],
        "slowest_tests_extra": m.slowest_extra,
        "total_test_runs": m.total_test_runs,
        "test_runs": [
            {
                "pipeline_number": r.pipeline_number,
                "workflow_id": r.workflow_id,
                "success_rate": r.success_rate,
                "test_counts": r.counts,
            }
            for r in m.runs
        ],
    }


@router.get(PROJECT + "/branches")
async def branches(
    tx: TxDep,
    user: CurrentUser,
    slug: Slug,
    workflow_name: Annotated[str | None, Query(alias="workflow-name")] = None,
) -> dict[str, Any]:
    project, names = await insights.branches(tx, user, slug, workflow_name=workflow_name)
    return {"org_id": project.org_id, "project_id": project.id, "branches": names}


def _flaky_json(f: FlakyTest) -> dict[str, Any]:
    """Both spellings: the spec's kebab-case and the snake_case the live API sends."""
    snake = {
        "test_name": f.test_name,
        "classname": f.classname,
        "file": f.file,
        "source": f.source,
        "job_name": f.job_name,
        "job_number": f.job_number,
        "workflow_name": f.workflow_name,
        "workflow_id": f.workflow_id,
        "workflow_created_at": iso(f.workflow_created_at),
        "pipeline_number": f.pipeline_number,
        "times_flaked": f.times_flaked,
        "time_wasted": whole_seconds(f.time_wasted_s),
    }
    return snake | {k.replace("_", "-"): v for k, v in snake.items() if "_" in k}


@router.get(PROJECT + "/flaky-tests")
async def flaky_tests(tx: TxDep, user: CurrentUser, slug: Slug) -> dict[str, Any]:
    tests = [_flaky_json(f) for f in await insights.flaky_tests(tx, user, slug)]
    return {
        "flaky-tests": tests,
        "total-flaky-tests": len(tests),
        "flaky_tests": tests,
        "total_flaky_tests": len(tests),
    }


@router.get("/insights/{vcs}/{org}/summary")
async def org_summary(
    vcs: str,
    org: str,
    tx: TxDep,
    user: CurrentUser,
    reporting_window: Window = None,
    project_names: Annotated[list[str] | None, Query(alias="project-names")] = None,
) -> dict[str, Any]:
    total, projects, names = await insights.org_summary(
        tx, user, f"{vcs}/{org}", reporting_window=reporting_window, project_names=project_names or []
    )
    return {
        "org_data": _compared(total, SUMMARY_KEYS),
        "org_project_data": [{"project_name": p.name} | _compared(c, PROJECT_KEYS) for p, c in projects],
        "all_projects": names,
    }
