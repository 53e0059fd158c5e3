"""A project's pipelines (newest first, filtered by branch) and one pipeline with its workflows; the
live versions of both (server-sent events while anything on them runs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import StoreDep, TxDep
from circlet.engine import Tx, access, reads, ui
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Pipeline
from circlet.web import live
from circlet.web.auth import WebUser, session_check, web_user
from circlet.web.errors import WebRoute
from circlet.web.live import Snapshot
from circlet.web.pages import page
from circlet.web.state import web_state
from circlet.web.statuses import is_active

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PROJECT = "/pipelines/{vcs}/{org}/{repo}"


def running(summaries: list[ui.PipelineSummary]) -> bool:
    """Whether any workflow of these pipelines will still change (a pipeline's workflows are all
    created when it starts, so one with none has nothing left to show)."""
    return any(is_active(w.status) for s in summaries for w in s.workflows)


async def _rows_context(
    tx: Tx, project: Project, branch: str | None, page_token: str | None
) -> dict[str, Any]:
    rows = await ui.pipeline_rows(tx, project, branch=branch or None, page_token=page_token)
    return {
        "project": project,
        "rows": rows.items,
        "live": running(rows.items),
        "next_page_token": rows.next_page_token,
        "branch": branch or "",
        "page_token": page_token or "",
    }


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
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    context = await _rows_context(tx, project, branch, page_token)
    return page(request, "pipelines.html", title=project.name, **context)


@router.get(PROJECT + "/live")
async def project_pipelines_live(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    store: StoreDep,
    branch: str | None = None,
    page_token: str | None = None,
) -> Response:
    """The pipeline rows again each time a row's status changes, until none is running."""
    async with store.transaction() as tx:
        user = await web_user(request, tx)
        project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    renderer = web_state(request).renderer

    async def read(tx: Tx) -> Snapshot:
        context = await _rows_context(tx, project, branch, page_token)
        rows: list[ui.PipelineSummary] = context["rows"]
        fingerprint = tuple(
            (r.pipeline.id, r.status, tuple((w.id, w.status, w.stopped_at) for w in r.workflows))
            for r in rows
        )
        return Snapshot(
            fingerprint, not context["live"], lambda: renderer.html(request, "_pipeline_rows.html", context)
        )

    return live.stream(live.events(store.transaction, read, session=session_check(request, user)))


async def _workflows_context(tx: Tx, project: Project, pipeline: Pipeline) -> dict[str, Any]:
    summary = await ui.pipeline_summary(tx, pipeline)
    jobs = {w.id: await reads.workflow_jobs(tx, w) for w in summary.workflows}
    return {
        "project": project,
        "summary": summary,
        "pipeline": pipeline,
        "jobs": jobs,
        "live": running([summary]),
    }


@router.get(PROJECT + "/{number:int}")
async def pipeline_detail(
    request: Request, vcs: str, org: str, repo: str, number: int, tx: TxDep, user: WebUser
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    pipeline = await reads.pipeline_by_number(tx, project, number)
    context = await _workflows_context(tx, project, pipeline)
    return page(request, "pipeline.html", title=f"{project.name} #{pipeline.number}", **context)


@router.get(PROJECT + "/{number:int}/live")
async def pipeline_live(
    request: Request, vcs: str, org: str, repo: str, number: int, store: StoreDep
) -> Response:
    """The pipeline's workflows and jobs again each time a status changes, until all are finished."""
    async with store.transaction() as tx:
        user: User = await web_user(request, tx)
        project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    renderer = web_state(request).renderer

    async def read(tx: Tx) -> Snapshot:
        pipeline = await reads.pipeline_by_number(tx, project, number)
        context = await _workflows_context(tx, project, pipeline)
        summary: ui.PipelineSummary = context["summary"]
        fingerprint = (
            summary.status,
            tuple(
                (
                    w.id,
                    w.status,
                    tuple((j.name, j.status, j.started_at, j.stopped_at) for j in context["jobs"][w.id]),
                )
                for w in summary.workflows
            ),
        )
        return Snapshot(
            fingerprint,
            not context["live"],
            lambda: renderer.html(request, "_pipeline_workflows.html", context),
        )

    return live.stream(live.events(store.transaction, read, session=session_check(request, user)))
