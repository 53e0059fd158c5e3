"""Project creation and advanced settings (v2): ``POST /project/{provider}/{org}/{project}`` and
``GET/PATCH …/settings``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import CurrentUser, TxDep
from circlet.engine import project_settings

router = APIRouter(tags=["Project"])


class NewProjectBody(BaseModel):
    """circlet extension: where the repository is when it is not on GitHub or Bitbucket."""

    model_config = ConfigDict(extra="forbid")
    vcs_url: str | None = None
    default_branch: str | None = None


class AdvancedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    autocancel_builds: bool | None = None
    build_fork_prs: bool | None = None
    build_prs_only: bool | None = None
    disable_ssh: bool | None = None
    forks_receive_secret_env_vars: bool | None = None
    oss: bool | None = None
    set_github_status: bool | None = None
    setup_workflows: bool | None = None
    write_settings_requires_admin: bool | None = None
    pr_only_branch_overrides: list[str] | None = None


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advanced: AdvancedSettings | None = None


@router.post("/project/{provider}/{organization}/{project}", status_code=201)
async def create_project(
    provider: str,
    organization: str,
    project: str,
    tx: TxDep,
    user: CurrentUser,
    body: Annotated[NewProjectBody | None, Body()] = None,
) -> dict[str, Any]:
    body = body or NewProjectBody()
    created = await project_settings.create_project(
        tx, user, provider, organization, project, vcs_url=body.vcs_url, default_branch=body.default_branch
    )
    return {"advanced": project_settings.advanced_of(created)}


@router.get("/project/{provider}/{organization}/{project}/settings")
async def get_settings(
    provider: str, organization: str, project: str, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    slug = f"{provider}/{organization}/{project}"
    return {"advanced": await project_settings.get_settings(tx, user, slug)}


@router.patch("/project/{provider}/{organization}/{project}/settings")
async def update_settings(
    provider: str, organization: str, project: str, body: SettingsBody, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    changes = body.advanced.model_dump(exclude_none=True) if body.advanced else {}
    slug = f"{provider}/{organization}/{project}"
    return {"advanced": await project_settings.update_settings(tx, user, slug, changes)}
