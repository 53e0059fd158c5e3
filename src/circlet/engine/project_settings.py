"""Creating a project through the API and its advanced settings (CircleCI's ``project_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.slugs import normalize_vcs
from circlet.errors import BadRequest, NotFound
from circlet.model.accounts import Project, User
from circlet.store import accounts as account_store
from circlet.store import projects as project_store

#: CircleCI's defaults for a newly followed project.
DEFAULT_ADVANCED: dict[str, Any] = {
    "autocancel_builds": False,
    "build_fork_prs": False,
    "build_prs_only": False,
    "disable_ssh": False,
    "forks_receive_secret_env_vars": False,
    "oss": False,
    "set_github_status": True,
    "setup_workflows": False,
    "write_settings_requires_admin": False,
    "pr_only_branch_overrides": [],
}
HOSTS = {"gh": "https://github.com/{org}/{name}.git", "bb": "https://bitbucket.org/{org}/{name}.git"}


def advanced_of(project: Project) -> dict[str, Any]:
    stored = project.settings.get("advanced", {})
    advanced = {**DEFAULT_ADVANCED, **stored}
    if not stored.get("pr_only_branch_overrides"):
        advanced["pr_only_branch_overrides"] = [project.default_branch]
    return advanced


async def create_project(
    tx: AsyncSession,
    user: User,
    provider: str,
    org_name: str,
    name: str,
    *,
    vcs_url: str | None = None,
    default_branch: str | None = None,
) -> Project:
    """Add ``provider/org/name`` under an org the user belongs to (following it again is a no-op).

    The repository is ``vcs_url`` when given, else the project's GitHub or Bitbucket URL.

    Raises:
        NotFound: the org does not exist or the user is not a member.
        BadRequest: a ``circleci`` project without ``vcs_url``, or a different ``vcs_url`` for an existing one.
    """
    vcs = normalize_vcs(provider)
    org = await account_store.find_org(tx, f"{vcs}/{org_name}")
    if org is None or org.id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Organization not found.")
    existing = await project_store.find_project(tx, f"{vcs}/{org_name}/{name}")
    if existing is not None:
        if vcs_url and vcs_url != existing.repo_url:
            raise BadRequest(f"Project {existing.slug} already exists with another repository.")
        return existing
    if not vcs_url:
        if vcs not in HOSTS:
            raise BadRequest("Give the repository as vcs_url to create a project of this provider.")
        vcs_url = HOSTS[vcs].format(org=org_name, name=name)
    return await project_store.create_project(
        tx, org=org, name=name, repo_url=vcs_url, default_branch=default_branch or "main"
    )


async def get_settings(tx: AsyncSession, user: User, slug: str) -> dict[str, Any]:
    return advanced_of(await access.project_for(tx, user, slug))


async def update_settings(
    tx: AsyncSession, user: User, slug: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge ``changes`` (validated by the caller) into the project's advanced settings."""
    project = await access.project_for(tx, user, slug)
    unknown = sorted(set(changes) - set(DEFAULT_ADVANCED))
    if unknown:
        raise BadRequest(f"Unknown setting {unknown[0]!r}.")
    settings = dict(project.settings)
    settings["advanced"] = {**settings.get("advanced", {}), **changes}
    updated = await project_store.update_project(tx, project.id, settings=settings)
    return advanced_of(updated)
