"""A workflow as a graph of its jobs, with their statuses, durations and approvals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import access, reads
from circlet.errors import NotFound
from circlet.web import graph
from circlet.web.auth import WebUser
from circlet.web.errors import WebRoute
from circlet.web.pages import is_htmx, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/pipelines/{vcs}/{org}/{repo}/{number:int}/workflows/{workflow_id}")
async def workflow_detail(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    number: int,
    workflow_id: str,
    tx: TxDep,
    user: WebUser,
    part: str | None = None,
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    workflow = await access.workflow_for(tx, user, workflow_id)
    if workflow.project_id != project.id or workflow.pipeline_number != number:
        raise NotFound("Workflow not found.")
    pipeline = await reads.pipeline_by_number(tx, project, number)
    jobs = await reads.workflow_jobs(tx, workflow)
    context: dict[str, Any] = {
        "project": project,
        "pipeline": pipeline,
        "workflow": workflow,
        "jobs": jobs,
        "layout": graph.layout([(j.name, j.requires) for j in jobs]),
        "card": {"w": graph.CARD_W, "h": graph.CARD_H},
        "title": f"{workflow.name} · {project.name} #{number}",
    }
    if part == "live" and is_htmx(request):
        return page(request, "_workflow_live.html", **context)
    return page(request, "workflow.html", **context)
