"""A workflow as a graph of its jobs, with their statuses, durations and approvals; live (server-sent
events) while it runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import StoreDep, TxDep
from circlet.engine import Tx, access, reads
from circlet.errors import NotFound
from circlet.model.accounts import Project, User
from circlet.web import graph, live
from circlet.web.auth import WebUser, csrf_token, session_check, web_user
from circlet.web.errors import WebRoute
from circlet.web.live import Snapshot
from circlet.web.pages import page
from circlet.web.state import web_state
from circlet.web.statuses import is_active

router = APIRouter(route_class=WebRoute, include_in_schema=False)

WORKFLOW = "/pipelines/{vcs}/{org}/{repo}/{number:int}/workflows/{workflow_id}"


async def _context(tx: Tx, user: User, project: Project, number: int, workflow_id: str) -> dict[str, Any]:
    workflow = await access.workflow_for(tx, user, workflow_id)
    if workflow.project_id != project.id or workflow.pipeline_number != number:
        raise NotFound("Workflow not found.")
    pipeline = await reads.pipeline_by_number(tx, project, number)
    jobs = await reads.workflow_jobs(tx, workflow)
    return {
        "project": project,
        "pipeline": pipeline,
        "workflow": workflow,
        "jobs": jobs,
        "layout": graph.layout([(j.name, j.requires) for j in jobs]),
        "card": {"w": graph.CARD_W, "h": graph.CARD_H},
        "live": is_active(workflow.status.value),
    }


@router.get(WORKFLOW)
async def workflow_detail(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    number: int,
    workflow_id: str,
    tx: TxDep,
    user: WebUser,
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    context = await _context(tx, user, project, number, workflow_id)
    return page(
        request, "workflow.html", title=f"{context['workflow'].name} · {project.name} #{number}", **context
    )


@router.get(WORKFLOW + "/live")
async def workflow_live(
    request: Request, vcs: str, org: str, repo: str, number: int, workflow_id: str, store: StoreDep
) -> Response:
    """The workflow's head and graph again each time a status changes, until it is finished."""
    async with store.transaction() as tx:
        user = await web_user(request, tx)
        project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
        await _context(tx, user, project, number, workflow_id)  # NotFound before the stream starts
    renderer = web_state(request).renderer
    csrf = csrf_token(request)  # the approve, cancel and rerun forms in the part post with it

    async def read(tx: Tx) -> Snapshot:
        context = await _context(tx, user, project, number, workflow_id)
        workflow = context["workflow"]
        fingerprint = (
            workflow.status,
            tuple((j.name, j.status, j.number, j.started_at, j.stopped_at) for j in context["jobs"]),
        )
        return Snapshot(
            fingerprint,
            not context["live"],
            lambda: renderer.html(request, "_workflow_live.html", {**context, "csrf_token": csrf}),
        )

    return live.stream(live.events(store.transaction, read, session=session_check(request, user)))
