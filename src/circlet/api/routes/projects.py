"""Projects (v2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from circlet.api.deps import ConfigDep, CurrentUser, TxDep
from circlet.api.views import project_json
from circlet.engine import access

router = APIRouter(tags=["Project"])


@router.get("/project/{vcs}/{org}/{repo}")
async def get_project(
    vcs: str, org: str, repo: str, tx: TxDep, user: CurrentUser, config: ConfigDep
) -> dict[str, Any]:
    return project_json(await access.project_for(tx, user, f"{vcs}/{org}/{repo}"), config.base_url)
