"""Project environment variables (v2): values are only ever answered masked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.views import iso
from circlet.engine import envvars
from circlet.engine.envvars import MaskedVar

router = APIRouter(tags=["Project"])


class EnvVarBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    value: str


def envvar_json(var: MaskedVar) -> dict[str, Any]:
    return {"name": var.name, "value": var.masked, "created-at": iso(var.created_at)}


@router.post("/project/{vcs}/{org}/{repo}/envvar", status_code=201)
async def create_envvar(
    vcs: str, org: str, repo: str, body: EnvVarBody, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    slug = f"{vcs}/{org}/{repo}"
    return envvar_json(await envvars.set_envvar(tx, user, slug, body.name, body.value))


@router.get("/project/{vcs}/{org}/{repo}/envvar")
async def list_envvars(vcs: str, org: str, repo: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    items = await envvars.list_envvars(tx, user, f"{vcs}/{org}/{repo}")
    return {"items": [envvar_json(v) for v in items], "next_page_token": None}


@router.get("/project/{vcs}/{org}/{repo}/envvar/{name}")
async def get_envvar(
    vcs: str, org: str, repo: str, name: str, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    return envvar_json(await envvars.get_envvar(tx, user, f"{vcs}/{org}/{repo}", name))


@router.delete("/project/{vcs}/{org}/{repo}/envvar/{name}")
async def delete_envvar(
    vcs: str, org: str, repo: str, name: str, tx: TxDep, user: CurrentUser
) -> dict[str, str]:
    await envvars.delete_envvar(tx, user, f"{vcs}/{org}/{repo}", name)
    return {"message": "Environment variable deleted."}
