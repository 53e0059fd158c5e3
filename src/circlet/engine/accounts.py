"""Users, orgs, tokens: the use cases behind the CLI and ``/me``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import runs
from circlet.errors import NotFound
from circlet.model.accounts import Org, User
from circlet.store import accounts as account_store


async def orgs_of(tx: AsyncSession, user: User) -> list[Org]:
    return await account_store.list_user_orgs(tx, user.id)


async def visible_user(tx: AsyncSession, viewer: User, user_id: str) -> User:
    """A user the viewer shares an org with (or the viewer); others are NotFound."""
    if user_id == viewer.id:
        return viewer
    other = await account_store.get_user(tx, user_id)
    if not (await account_store.user_org_ids(tx, viewer.id)) & (
        await account_store.user_org_ids(tx, other.id)
    ):
        raise NotFound("User not found.")
    return other


async def create_user(tx: AsyncSession, *, login: str, name: str | None, org: str | None) -> tuple[User, str]:
    """Create a user (joining ``org`` like ``gh/acme`` when given) and a first API token."""
    user = await account_store.create_user(tx, login=login, name=name)
    if org:
        await join_org(tx, user, org)
    token = await account_store.create_token(tx, user.id, label="created with the user")
    return user, token


async def join_org(tx: AsyncSession, user: User, org_slug: str) -> Org:
    from circlet.engine.slugs import normalize_org_slug

    vcs, name = normalize_org_slug(org_slug).split("/")
    org = await account_store.ensure_org(tx, vcs_type=vcs, name=name)
    await account_store.add_member(tx, user_id=user.id, org_id=org.id)
    return org


async def create_token(tx: AsyncSession, login: str, *, label: str = "") -> str:
    user = await account_store.find_user_by_login(tx, login)
    if user is None:
        raise NotFound(f"No user {login!r}.")
    return await account_store.create_token(tx, user.id, label=label)


async def create_runner_token(tx: AsyncSession, resource_class: str, *, nickname: str = "") -> str:
    return await account_store.create_runner_token(tx, resource_class=resource_class, nickname=nickname)


async def require_user(tx: AsyncSession, login: str) -> User:
    user = await account_store.find_user_by_login(tx, login)
    if user is None:
        raise NotFound(f"No user {login!r}.")
    return user


BUILTIN_RUNNER = "built-in"


async def rotate_builtin_runner_token(tx: AsyncSession) -> str:
    """A fresh token for ``circlet serve``'s own runner; earlier ones stop working."""
    await account_store.delete_runner_tokens(tx, nickname=BUILTIN_RUNNER)
    runs.forget_runner_identities()
    return await account_store.create_runner_token(tx, resource_class="*", nickname=BUILTIN_RUNNER)


async def find_user(tx: AsyncSession, login: str) -> User | None:
    return await account_store.find_user_by_login(tx, login)
