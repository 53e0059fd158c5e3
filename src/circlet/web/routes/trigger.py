"""Trigger a pipeline on a branch or tag, with a form built from the config's declared parameters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import access, ui
from circlet.engine.pipelines import TriggerRequest, trigger_pipeline
from circlet.errors import BadRequest
from circlet.model.accounts import Project
from circlet.web import params
from circlet.web.auth import CsrfChecked, WebUser
from circlet.web.errors import WebRoute, redirect
from circlet.web.pages import is_htmx, page
from circlet.web.state import web_state

router = APIRouter(route_class=WebRoute, include_in_schema=False)

TRIGGER = "/pipelines/{vcs}/{org}/{repo}/trigger"


async def _fields(
    request: Request, project: Project, ref_type: str, ref: str
) -> tuple[list[params.ParamField], str | None]:
    source = await ui.config_at_ref(
        project,
        branch=ref if ref_type == "branch" else None,
        tag=ref if ref_type == "tag" else None,
        mirrors_dir=web_state(request).mirrors_dir,
    )
    if source is None:
        return [], f"No .circleci/config.yml found on {ref_type} “{ref}”."
    return params.fields_for(source)


@router.get(TRIGGER)
async def trigger_form(
    request: Request,
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: WebUser,
    ref_type: str = "branch",
    ref: str = "",
    part: str | None = None,
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    ref = ref or project.default_branch
    ref_type = "tag" if ref_type == "tag" else "branch"
    fields, problem = await _fields(request, project, ref_type, ref)
    context: dict[str, Any] = {
        "project": project,
        "ref_type": ref_type,
        "ref": ref,
        "fields": fields,
        "problem": problem,
        "values": {},
        "errors": {},
        "error": None,
        "title": f"Trigger · {project.name}",
    }
    if part == "params" and is_htmx(request):
        return page(request, "_trigger_params.html", **context)
    return page(request, "trigger.html", **context)


@router.post(TRIGGER, dependencies=[CsrfChecked])
async def trigger(request: Request, vcs: str, org: str, repo: str, tx: TxDep, user: WebUser) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    form = await request.form()
    ref_type = "tag" if form.get("ref_type") == "tag" else "branch"
    ref = str(form.get("ref") or "").strip() or project.default_branch
    fields, problem = await _fields(request, project, ref_type, ref)
    submitted = {key: [str(v) for v in form.getlist(key)] for key in form}
    parsed = params.parse(fields, submitted)
    error = None
    if not parsed.errors:
        request_ = TriggerRequest(
            branch=ref if ref_type == "branch" else None,
            tag=ref if ref_type == "tag" else None,
            parameters=parsed.values,
        )
        try:
            pipeline = await trigger_pipeline(
                tx, project, user, request_, mirrors_dir=web_state(request).mirrors_dir
            )
        except BadRequest as exc:
            error = exc.message
        else:
            return redirect(request, f"/pipelines/{project.slug}/{pipeline.number}")
    return page(
        request,
        "trigger.html",
        status_code=400,
        project=project,
        ref_type=ref_type,
        ref=ref,
        fields=fields,
        problem=problem,
        values={k: v[-1] for k, v in submitted.items() if v},
        errors=parsed.errors,
        error=error or "Some parameters need attention.",
        title=f"Trigger · {project.name}",
    )
