"""A job with its steps; the steps' output, paged and followed live while the job runs."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from circlet.api.deps import FilesDep, LogsDep, StoreDep, TxDep
from circlet.engine import Tx, access, artifacts, legacy, ui
from circlet.engine.legacy import BuildDetails
from circlet.engine.live import OutputWatch
from circlet.errors import NotFound
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Step
from circlet.web import live, output
from circlet.web.auth import WebUser, csrf_token, session_check, web_user
from circlet.web.errors import WebRoute
from circlet.web.live import Snapshot
from circlet.web.pages import page
from circlet.web.state import web_state

router = APIRouter(route_class=WebRoute, include_in_schema=False)

JOB = "/pipelines/{vcs}/{org}/{repo}/{number:int}/workflows/{workflow_id}/jobs/{job_number:int}"
JOB_PARTS = "/jobs/{vcs}/{org}/{repo}/{job_number:int}"


async def _details(tx: Tx, user: User, slug: str, job_number: int) -> tuple[Project, BuildDetails]:
    project, job = await access.job_by_number(tx, user, slug, job_number)
    return project, await legacy.build_details(tx, project, job)


def _node_steps(details: BuildDetails, node: int) -> list[Step]:
    return [a for group in details.steps for a in group.actions if a.node_index == node]


@router.get(JOB)
async def job_detail(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    number: int,
    workflow_id: str,
    job_number: int,
    tx: TxDep,
    user: WebUser,
    node: int = 0,
) -> Response:
    project, details = await _details(tx, user, f"{vcs}/{org}/{repo}", job_number)
    if details.workflow.id != workflow_id or details.pipeline.number != number:
        raise NotFound("Job not found.")
    extras = await ui.job_extras(tx, details.job)
    return page(
        request,
        "job.html",
        extras=extras,
        project=project,
        details=details,
        job=details.job,
        node=node,
        steps=_node_steps(details, node),
        parts=f"/jobs/{project.slug}/{job_number}",
        job_url=request.url.path,
        title=f"{details.job.name} · {project.name} #{number}",
    )


def _progress(
    request: Request, project: Project, details: BuildDetails, node: int, csrf: str
) -> dict[str, Any]:
    """The job's header and step summaries as HTML pieces, with the statuses and output sizes."""
    env = web_state(request).renderer.env
    job_number = details.job.number
    common = {"project": project, "parts": f"/jobs/{project.slug}/{job_number}", "now": datetime.now(UTC)}
    job_url = f"/pipelines/{project.slug}/{details.pipeline.number}/workflows/{details.workflow.id}/jobs/{job_number}"
    head = env.get_template("_job_head.html").render(
        job=details.job, job_url=job_url, csrf_token=csrf, **common
    )
    return {
        "status": details.job.status.value,
        "active": not details.job.status.is_final,
        "head": head,
        "steps": [
            {
                "key": f"{s.node_index}-{s.step_index}",
                "status": s.status.value,
                "size": s.output_bytes,
                "summary": env.get_template("_step_summary.html").render(step=s, **common),
                "html": env.get_template("_step.html").render(s=s, **common),
            }
            for s in _node_steps(details, node)
        ],
    }


@router.get(JOB_PARTS + "/progress")
async def job_progress(
    request: Request, vcs: str, org: str, repo: str, job_number: int, tx: TxDep, user: WebUser, node: int = 0
) -> Response:
    """The job's progress once, as JSON (see ``job_progress_stream`` for the live version)."""
    project, details = await _details(tx, user, f"{vcs}/{org}/{repo}", job_number)
    return JSONResponse(
        _progress(request, project, details, node, csrf_token(request)), headers={"Cache-Control": "no-store"}
    )


@router.get(JOB_PARTS + "/progress/stream")
async def job_progress_stream(
    request: Request, vcs: str, org: str, repo: str, job_number: int, store: StoreDep, node: int = 0
) -> Response:
    """The job's progress (``progress`` events, the JSON above) each time a status or an output size
    changed, until the job is finished. Output appended to the job wakes the stream early."""
    slug = f"{vcs}/{org}/{repo}"
    async with store.transaction() as tx:
        user = await web_user(request, tx)
        _, job = await access.job_by_number(tx, user, slug, job_number)
    csrf = csrf_token(request)
    watch: OutputWatch = request.app.state.output_watch

    async def read(tx: Tx) -> Snapshot:
        project, details = await _details(tx, user, slug, job_number)
        steps = _node_steps(details, node)
        fingerprint = (
            details.job.status,
            details.job.stopped_at,
            tuple((s.step_index, s.status, s.output_bytes, s.exit_code) for s in steps),
        )
        return Snapshot(
            fingerprint,
            details.job.status.is_final,
            lambda: live.progress_json(_progress(request, project, details, node, csrf)),
        )

    async def frames() -> AsyncIterator[bytes]:
        with watch.watching(job.id) as appended:
            async for item in live.events(
                store.transaction, read, session=session_check(request, user), event="progress", wake=appended
            ):
                yield item

    return live.stream(frames())


@router.get(JOB_PARTS + "/output/{node_index:int}/{step_index:int}")
async def step_output(
    vcs: str,
    org: str,
    repo: str,
    job_number: int,
    node_index: int,
    step_index: int,
    tx: TxDep,
    user: WebUser,
    logs: LogsDep,
    offset: int = 0,
    before: int | None = None,
    tail: bool = False,
) -> Response:
    """One page of a step's output as HTML (see ``output.read_page``)."""
    _, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", job_number)
    step = await legacy.step_of(tx, job, node_index, step_index)
    if step is None:
        raise NotFound("Step not found.")
    piece = await output.read_page(
        logs, step, offset=offset, before=before, tail=tail, running=step.status.value == "running"
    )
    return JSONResponse(piece.as_json(), headers={"Cache-Control": "no-store"})


@router.get(JOB_PARTS + "/output/{node_index:int}/{step_index:int}.txt")
async def step_output_text(
    vcs: str,
    org: str,
    repo: str,
    job_number: int,
    node_index: int,
    step_index: int,
    tx: TxDep,
    user: WebUser,
    logs: LogsDep,
) -> Response:
    """The whole output of a step as plain text (escape sequences kept), for download."""
    _, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", job_number)
    data = await logs.read(job.id, node_index, step_index)
    return PlainTextResponse(data.decode("utf-8", errors="replace"))


#: An artifact is the job's content served from our origin: never let HTML in it run as the signed-in user.
ARTIFACT_HEADERS = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}


@router.get(JOB_PARTS + "/artifacts/{node_index:int}/{path:path}", response_model=None)
async def artifact(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    job_number: int,
    node_index: int,
    path: str,
    store: StoreDep,
    files: FilesDep,
) -> Response:
    """Download one of the job's artifacts (the transaction ends before the file streams)."""
    async with store.transaction() as tx:
        user = await web_user(request, tx)
        _, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", job_number)
        found = await artifacts.artifact_for_download(tx, user, job.id, node_index, path)
    stored = files.artifact_path(found.job_id, found.node_index, found.path)
    if not stored.is_file():
        raise NotFound("Artifact not found.")
    media_type = mimetypes.guess_type(found.path)[0] or "application/octet-stream"
    return FileResponse(stored, media_type=media_type, headers=ARTIFACT_HEADERS)
