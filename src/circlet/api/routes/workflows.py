"""Reading workflows and their jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.views import workflow_job_json, workflow_json
from circlet.engine import access, reads
from circlet.engine.paging import paginate

router = APIRouter(tags=["Workflow"])


@router.get("/workflow/{workflow_id}")
async def get_workflow(workflow_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return workflow_json(await access.workflow_for(tx, user, workflow_id))


@router.get("/workflow/{workflow_id}/job")
async def list_workflow_jobs(
    workflow_id: str,
    tx: TxDep,
    user: CurrentUser,
    page_token: Annotated[str | None, Query(alias="page-token")] = None,
) -> dict[str, Any]:
    workflow = await access.workflow_for(tx, user, workflow_id)
    jobs = await reads.workflow_jobs(tx, workflow)
    ids = {j.name: j.id for j in jobs}
    items = []
    for job in jobs:
        body = workflow_job_json(job)
        body["dependencies"] = [ids[r] for r in job.requires if r in ids]
        items.append(body)
    page, token = paginate(items, page_token)
    return {"items": page, "next_page_token": token}
