"""Job details (v2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from circlet.api.deps import ConfigDep, CurrentUser, TxDep
from circlet.api.views import job_detail_json
from circlet.engine import access, reads

router = APIRouter(tags=["Job"])


@router.get("/project/{vcs}/{org}/{repo}/job/{number}")
async def get_job(
    vcs: str, org: str, repo: str, number: int, tx: TxDep, user: CurrentUser, config: ConfigDep
) -> dict[str, Any]:
    project, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", number)
    _, workflow = await reads.job_context(tx, job)
    tasks = await reads.job_tasks(tx, job)
    return job_detail_json(job, tasks, project, workflow, config.base_url)
