"""A pipeline's configuration: the source as read and the compiled (processed) config side by side,
and the plan (which workflows and jobs its trigger selects, and why the others do not run)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import access, plans, reads
from circlet.web.auth import WebUser
from circlet.web.errors import WebRoute
from circlet.web.pages import page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

CONFIG = "/pipelines/{vcs}/{org}/{repo}/{number:int}/config"


@router.get(CONFIG)
async def pipeline_config(
    request: Request, vcs: str, org: str, repo: str, number: int, tx: TxDep, user: WebUser
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    pipeline = await reads.pipeline_by_number(tx, project, number)
    return page(
        request,
        "config.html",
        project=project,
        pipeline=pipeline,
        tab="config",
        title=f"Config · {project.name} #{number}",
    )


@router.get(CONFIG + "/plan")
async def pipeline_plan(
    request: Request, vcs: str, org: str, repo: str, number: int, tx: TxDep, user: WebUser
) -> Response:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    pipeline = await reads.pipeline_by_number(tx, project, number)
    return page(
        request,
        "plan.html",
        project=project,
        pipeline=pipeline,
        plan=await plans.pipeline_plan(tx, pipeline, project),
        tab="plan",
        title=f"Plan · {project.name} #{number}",
    )
