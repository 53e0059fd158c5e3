"""Insights per project: success rate, throughput, duration p50/p95 and MTTR with trends, duration
charts per workflow and per job, flaky and slowest tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import insights, ui
from circlet.insights.reads import Compared
from circlet.insights.runs import RecentRun
from circlet.insights.timeseries import TimeseriesPoint
from circlet.insights.windows import ReportingWindow
from circlet.model.accounts import Project, User
from circlet.web.auth import WebUser
from circlet.web.errors import WebRoute
from circlet.web.pages import page
from circlet.web.trends import trend

router = APIRouter(route_class=WebRoute, include_in_schema=False)

WINDOWS = {
    "last-24-hours": "Last 24 hours",
    "last-7-days": "Last 7 days",
    "last-30-days": "Last 30 days",
    "last-90-days": "Last 90 days",
}
DEFAULT_WINDOW = "last-30-days"


def trends_of(row: Compared) -> dict[str, Any]:
    cur, prev = row.current, row.previous
    return {
        "success_rate": trend(cur.success_rate, prev.success_rate, better="up"),
        "throughput": trend(cur.throughput, prev.throughput, better="up"),
        "p50": trend(cur.durations.median, prev.durations.median, better="down"),
        "p95": trend(cur.durations.p95, prev.durations.p95, better="down"),
        "mttr": trend(cur.mttr or None, prev.mttr or None, better="down"),
    }


def duration_series(runs: list[RecentRun]) -> dict[str, Any]:
    """uPlot columns: x (unix seconds), then duration (s) of successful and of failed runs."""
    ordered = sorted(runs, key=lambda r: r.created_at)
    return {
        "x": [int(r.created_at.timestamp()) for r in ordered],
        "success": [r.duration_s if r.status == "success" else None for r in ordered],
        "failed": [r.duration_s if r.status != "success" else None for r in ordered],
    }


def job_series(points: list[TimeseriesPoint]) -> dict[str, Any]:
    """uPlot columns: x (day starts), then each job's median duration that day."""
    days = sorted({int(p.timestamp.timestamp()) for p in points})
    index = {d: i for i, d in enumerate(days)}
    jobs: dict[str, list[int | None]] = {}
    for p in points:
        column = jobs.setdefault(p.name, [None] * len(days))
        column[index[int(p.timestamp.timestamp())]] = p.metrics.durations.median
    return {"x": days, "series": [{"name": n, "values": v} for n, v in sorted(jobs.items())]}


async def _charts(
    tx: TxDep, user: User, project: Project, workflow: str, branch: str | None, days: int
) -> dict[str, Any]:
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    runs = await ui.workflow_run_points(tx, project, workflow, branch=branch, start=start, end=now)
    points, _ = await insights.job_timeseries(
        tx,
        user,
        project.slug,
        workflow,
        branch=branch,
        granularity="daily",
        start=start,
        end=now,
        page_token=None,
    )
    return {"durations": duration_series(runs), "jobs": job_series(points)}


@router.get("/insights/{vcs}/{org}/{repo}")
async def project_insights(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: WebUser,
    window: str = DEFAULT_WINDOW,
    workflow: str | None = None,
    branch: str | None = None,
) -> Response:
    window = window if window in WINDOWS else DEFAULT_WINDOW
    slug = f"{vcs}/{org}/{repo}"
    project, summary = await insights.project_summary(
        tx, user, slug, reporting_window=window, branches=(), workflow_names=()
    )
    rows = summary.workflows
    if branch:
        rows = tuple(r for r in summary.workflow_branches if r.branch == branch)
    busiest = max(rows, key=lambda r: r.current.total_runs, default=None)
    chosen = workflow if workflow in summary.all_workflows else (busiest.name if busiest else None)
    selected = next((r for r in rows if r.name == chosen), None)
    days = ReportingWindow(window).days
    charts = await _charts(tx, user, project, chosen, branch or None, days) if chosen else None
    tests = (
        await insights.workflow_test_metrics(tx, user, slug, chosen, branch=branch, all_branches=not branch)
        if chosen
        else None
    )
    return page(
        request,
        "insights.html",
        project=project,
        windows=WINDOWS,
        window=window,
        branch=branch or "",
        branches=summary.all_branches,
        workflows=summary.all_workflows,
        workflow=chosen,
        rows=[(r, trends_of(r)) for r in rows],
        selected=(selected, trends_of(selected)) if selected else None,
        charts=json.dumps(charts).replace("<", "\\u003c") if charts else None,
        flaky=await insights.flaky_tests(tx, user, slug),
        tests=tests,
        title=f"Insights · {project.name}",
    )
