"""Workflow and job control (v2): approve, cancel, rerun."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import CurrentUser, TxDep
from circlet.engine import access, control
from circlet.errors import NotSupported

router = APIRouter(tags=["Workflow"])

ACCEPTED = {"message": "Accepted."}


class RerunBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    enable_ssh: bool = False
    from_failed: bool = False
    jobs: list[str] | None = None
    sparse_tree: bool = False


@router.post("/workflow/{workflow_id}/approve/{approval_request_id}", status_code=202)
async def approve(workflow_id: str, approval_request_id: str, tx: TxDep, user: CurrentUser) -> dict[str, str]:
    await control.approve_job(tx, user, workflow_id, approval_request_id)
    return ACCEPTED


@router.post("/workflow/{workflow_id}/cancel", status_code=202)
async def cancel_workflow(workflow_id: str, tx: TxDep, user: CurrentUser) -> dict[str, str]:
    await control.cancel_workflow(tx, user, workflow_id)
    return ACCEPTED


@router.post("/workflow/{workflow_id}/rerun", status_code=202)
async def rerun_workflow(
    workflow_id: str, tx: TxDep, user: CurrentUser, body: Annotated[RerunBody | None, Body()] = None
) -> dict[str, str]:
    body = body or RerunBody()
    if body.enable_ssh:
        raise NotSupported("Rerunning with SSH (enable_ssh) is not supported by circlet.")
    new_id = await control.rerun_workflow(
        tx, user, workflow_id, from_failed=body.from_failed, jobs=body.jobs, sparse_tree=body.sparse_tree
    )
    return {"workflow_id": new_id}


@router.post("/project/{vcs}/{org}/{repo}/job/{number}/cancel")
async def cancel_job_by_number(
    vcs: str, org: str, repo: str, number: int, tx: TxDep, user: CurrentUser
) -> dict[str, str]:
    _, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", number)
    await control.cancel_job(tx, user, job.id)
    return {"message": "Accepted."}


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, tx: TxDep, user: CurrentUser) -> dict[str, str]:
    await control.cancel_job(tx, user, job_id)
    return {"message": "Accepted."}
