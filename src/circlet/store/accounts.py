"""Users, orgs, memberships, personal API tokens and runner tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Conflict, NotFound
from circlet.model.accounts import Org, User
from circlet.store._types import utcnow
from circlet.store.rawsql import driver
from circlet.store.tables import MembershipRow, OrgRow, RunnerTokenRow, TokenRow, UserRow
from circlet.types import OrgId, UserId

TOKEN_PREFIX = "CCIPAT_"
RUNNER_TOKEN_PREFIX = "crt_"


def hash_token(token: str) -> str:
    """Tokens are high-entropy random strings, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(id=UserId(row.id), login=row.login, name=row.name, avatar_url=row.avatar_url)


def _org(row: OrgRow) -> Org:
    return Org(id=OrgId(row.id), vcs_type=row.vcs_type, name=row.name, slug=row.slug)


async def create_user(tx: AsyncSession, *, login: str, name: str | None = None) -> User:
    """Create a user. Raises Conflict when the login is taken."""
    if await tx.scalar(select(UserRow.id).where(UserRow.login == login)):
        raise Conflict(f"User {login!r} already exists.")
    row = UserRow(id=str(uuid.uuid4()), login=login, name=name or login, avatar_url=None, created_at=utcnow())
    tx.add(row)
    await tx.flush()
    return _user(row)


async def get_user(tx: AsyncSession, user_id: str) -> User:
    row = await tx.get(UserRow, user_id)
    if row is None:
        raise NotFound("User not found.")
    return _user(row)


async def find_user_by_login(tx: AsyncSession, login: str) -> User | None:
    row = await tx.scalar(select(UserRow).where(UserRow.login == login))
    return _user(row) if row else None


async def ensure_org(tx: AsyncSession, *, vcs_type: str, name: str) -> Org:
    """Return the org ``vcs_type/name``, creating it if needed."""
    slug = f"{vcs_type}/{name}"
    row = await tx.scalar(select(OrgRow).where(OrgRow.slug == slug))
    if row is None:
        row = OrgRow(id=str(uuid.uuid4()), vcs_type=vcs_type, name=name, slug=slug, created_at=utcnow())
        tx.add(row)
        await tx.flush()
    return _org(row)


async def find_org(tx: AsyncSession, slug: str) -> Org | None:
    row = await tx.scalar(select(OrgRow).where(OrgRow.slug == slug))
    return _org(row) if row else None


async def get_org(tx: AsyncSession, org_id: str) -> Org:
    row = await tx.get(OrgRow, org_id)
    if row is None:
        raise NotFound("Organization not found.")
    return _org(row)


async def add_member(tx: AsyncSession, *, user_id: UserId, org_id: OrgId, role: str = "member") -> None:
    if await tx.get(MembershipRow, (user_id, org_id)) is None:
        tx.add(MembershipRow(user_id=user_id, org_id=org_id, role=role))
        await tx.flush()


async def list_user_orgs(tx: AsyncSession, user_id: UserId) -> list[Org]:
    rows = await tx.scalars(
        select(OrgRow)
        .join(MembershipRow, MembershipRow.org_id == OrgRow.id)
        .where(MembershipRow.user_id == user_id)
        .order_by(OrgRow.slug)
    )
    return [_org(r) for r in rows]


async def user_org_ids(tx: AsyncSession, user_id: UserId) -> set[str]:
    db = await driver(tx)
    rows = await db.fetch("SELECT org_id FROM memberships WHERE user_id = ?", user_id)
    return {row[0] for row in rows}


async def is_project_member(tx: AsyncSession, user_id: UserId, project_id: str) -> bool:
    """Whether the user belongs to the org of the project (one statement)."""
    db = await driver(tx)
    found = await db.fetchone(
        "SELECT m.org_id FROM memberships m JOIN projects p ON p.org_id = m.org_id"
        " WHERE p.id = ? AND m.user_id = ?",
        project_id,
        user_id,
    )
    return found is not None


async def create_token(tx: AsyncSession, user_id: UserId, *, label: str = "") -> str:
    """Create a personal API token and return it in clear; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_hex(20)
    tx.add(
        TokenRow(
            id=str(uuid.uuid4()),
            user_id=user_id,
            token_hash=hash_token(token),
            label=label,
            created_at=utcnow(),
        )
    )
    await tx.flush()
    return token


async def user_for_token(tx: AsyncSession, token: str) -> User | None:
    db = await driver(tx)
    row = await db.fetchone(
        "SELECT u.id, u.login, u.name, u.avatar_url FROM users u JOIN tokens t ON t.user_id = u.id"
        " WHERE t.token_hash = ?",
        hash_token(token),
    )
    if row is None:
        return None
    return User(id=UserId(row[0]), login=row[1], name=row[2], avatar_url=row[3])


async def create_runner_token(tx: AsyncSession, *, resource_class: str, nickname: str = "") -> str:
    token = RUNNER_TOKEN_PREFIX + secrets.token_hex(24)
    tx.add(
        RunnerTokenRow(
            id=str(uuid.uuid4()),
            resource_class=resource_class,
            token_hash=hash_token(token),
            nickname=nickname,
            created_at=utcnow(),
        )
    )
    await tx.flush()
    return token


async def runner_token_class(tx: AsyncSession, token: str) -> tuple[str, str] | None:
    """Return (token id, resource class) for a runner token, or None."""
    row = await tx.scalar(select(RunnerTokenRow).where(RunnerTokenRow.token_hash == hash_token(token)))
    return (row.id, row.resource_class) if row else None


async def delete_runner_tokens(tx: AsyncSession, *, nickname: str) -> None:
    from sqlalchemy import delete

    await tx.execute(delete(RunnerTokenRow).where(RunnerTokenRow.nickname == nickname))
