"""Project environment variables: set, list, read and delete, always answered masked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.secrets import box_for, mask
from circlet.errors import BadRequest, NotFound
from circlet.model.accounts import User
from circlet.model.settings import SealedVar
from circlet.store import envvars as envvar_store

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VALUE_BYTES = 32 * 1024  #: bytes; CircleCI's limit for one variable


@dataclass(frozen=True, kw_only=True, slots=True)
class MaskedVar:
    name: str
    masked: str  #: ``xxxx`` + the last four characters
    created_at: datetime
    updated_at: datetime


def check_name_and_value(name: str, value: str) -> None:
    """Raises BadRequest for a name a shell cannot export or a value over the size limit."""
    if not NAME.match(name):
        raise BadRequest(
            f"Invalid environment variable name {name!r}: use letters, digits and underscores, "
            "not starting with a digit."
        )
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise BadRequest(f"The value of {name} is larger than {MAX_VALUE_BYTES} bytes.")


def masked(tx: AsyncSession, var: SealedVar) -> MaskedVar:
    return MaskedVar(
        name=var.name,
        masked=mask(box_for(tx).open(var.sealed)),
        created_at=var.created_at,
        updated_at=var.updated_at,
    )


async def set_envvar(tx: AsyncSession, user: User, slug: str, name: str, value: str) -> MaskedVar:
    """Create or overwrite a project variable; the value is sealed before it reaches the store."""
    project = await access.project_for(tx, user, slug)
    check_name_and_value(name, value)
    var = await envvar_store.put_envvar(tx, project.id, name, box_for(tx).seal(value))
    return MaskedVar(name=var.name, masked=mask(value), created_at=var.created_at, updated_at=var.updated_at)


async def list_envvars(tx: AsyncSession, user: User, slug: str) -> list[MaskedVar]:
    project = await access.project_for(tx, user, slug)
    return [masked(tx, v) for v in await envvar_store.list_envvars(tx, project.id)]


async def get_envvar(tx: AsyncSession, user: User, slug: str, name: str) -> MaskedVar:
    project = await access.project_for(tx, user, slug)
    var = await envvar_store.find_envvar(tx, project.id, name)
    if var is None:
        raise NotFound("Environment variable not found.")
    return masked(tx, var)


async def delete_envvar(tx: AsyncSession, user: User, slug: str, name: str) -> None:
    project = await access.project_for(tx, user, slug)
    await envvar_store.delete_envvar(tx, project.id, name)


async def project_values(tx: AsyncSession, project_id: str) -> dict[str, str]:
    """The clear values of a project's variables, for a job's environment."""
    box = box_for(tx) if (variables := await envvar_store.list_envvars(tx, project_id)) else None
    return {v.name: box.open(v.sealed) for v in variables} if box else {}
