"""Inbound push hooks: ``POST /hooks/push/{vcs}/{org}/{repo}`` (GitHub, Gitea/Forgejo, GitLab)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from circlet.api.deps import ConfigDep, TxDep
from circlet.api.views import pipeline_created_json
from circlet.engine import push

router = APIRouter(tags=["Push hooks"])


@router.post("/hooks/push/{vcs}/{org}/{repo}")
async def receive_push(
    vcs: str, org: str, repo: str, request: Request, response: Response, tx: TxDep, config: ConfigDep
) -> dict[str, Any]:
    """201 with the new pipeline; 200 for verified deliveries that trigger nothing."""
    body = await request.body()
    outcome = await push.receive_push(
        tx, f"{vcs}/{org}/{repo}", request.headers, body, mirrors_dir=config.data_dir / "mirrors"
    )
    if outcome.pipeline is None:
        return {"message": outcome.message}
    response.status_code = 201
    return {"message": outcome.message, **pipeline_created_json(outcome.pipeline)}
