"""A project's pipelines (newest first, filtered by branch) and one pipeline with its workflows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import access, reads, ui
from circlet.web.auth import WebUser
from circlet.web.errors import WebRoute
from circlet.web.pages import is_htmx, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PROJECT = "/pipelines/{vcs}/{org}/{repo}"


@router.get(PROJECT)
async def project_pipelines(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: WebUser,
    branch: str | None = None,
    page_token: str | None = None,
    part: str | None = None,
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    rows = await ui.pipeline_rows(tx, project, branch=branch or None, page_token=page_token)
    context: dict[str, Any] = {
        "project": project,
        "rows": rows.items,
        "next_page_token": rows.next_page_token,
        "branch": branch or "",
        "page_token": page_token or "",
        "title": project.name,
    }
    if part == "rows" and is_htmx(request):
        return page(request, "_pipeline_rows.html", **context)
    return page(request, "pipelines.html", **context)


@router.get(PROJECT + "/{number:int}")
async def pipeline_detail(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    number: int,
    tx: TxDep,
    user: WebUser,
    part: str | None = None,
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    pipeline = await reads.pipeline_by_number(tx, project, number)
    summary = await ui.pipeline_summary(tx, pipeline)
    jobs = {w.id: await reads.workflow_jobs(tx, w) for w in summary.workflows}
    context: dict[str, Any] = {
        "project": project,
        "summary": summary,
        "pipeline": pipeline,
        "jobs": jobs,
        "title": f"{project.name} #{pipeline.number}",
    }
    if part == "workflows" and is_htmx(request):
        return page(request, "_pipeline_workflows.html", **context)
    return page(request, "pipeline.html", **context)
