"""The buttons that act: approve, cancel a workflow or a job, rerun a workflow (all or from failed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import access, control
from circlet.model.pipelines import Workflow
from circlet.web.auth import CsrfChecked, WebUser
from circlet.web.errors import WebRoute, redirect
from circlet.web.routes.session import safe_next

router = APIRouter(route_class=WebRoute, include_in_schema=False, dependencies=[CsrfChecked])


def workflow_url(workflow: Workflow) -> str:
    return f"/pipelines/{workflow.project_slug}/{workflow.pipeline_number}/workflows/{workflow.id}"


@router.post("/actions/workflow/{workflow_id}/approve/{approval_request_id}")
async def approve(
    request: Request, workflow_id: str, approval_request_id: str, tx: TxDep, user: WebUser
) -> Response:
    await control.approve_job(tx, user, workflow_id, approval_request_id)
    return redirect(request, workflow_url(await access.workflow_for(tx, user, workflow_id)))


@router.post("/actions/workflow/{workflow_id}/cancel")
async def cancel_workflow(request: Request, workflow_id: str, tx: TxDep, user: WebUser) -> Response:
    await control.cancel_workflow(tx, user, workflow_id)
    return redirect(request, workflow_url(await access.workflow_for(tx, user, workflow_id)))


@router.post("/actions/workflow/{workflow_id}/rerun")
async def rerun_workflow(
    request: Request,
    workflow_id: str,
    tx: TxDep,
    user: WebUser,
    from_failed: Annotated[bool, Form()] = False,
) -> Response:
    new_id = await control.rerun_workflow(tx, user, workflow_id, from_failed=from_failed)
    return redirect(request, workflow_url(await access.workflow_for(tx, user, new_id)))


@router.post("/actions/job/{job_id}/cancel")
async def cancel_job(
    request: Request, job_id: str, tx: TxDep, user: WebUser, next: Annotated[str, Form()] = "/"
) -> Response:
    await control.cancel_job(tx, user, job_id)
    return redirect(request, safe_next(next))
