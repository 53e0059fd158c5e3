"""The local orb registry's use cases (publish, list)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import BadRequest
from circlet.store import orbs as orb_store

_REF = re.compile(
    r"^(?P<ns>[a-z0-9][a-z0-9_-]*)/(?P<name>[a-z0-9][a-z0-9_-]*)@(?P<version>\d+\.\d+\.\d+|dev:[\w.-]+)$",
    re.I,
)


async def publish(tx: AsyncSession, ref: str, source: str) -> tuple[str, str, str]:
    """Publish ``ns/name@X.Y.Z`` (or ``@dev:label``). Returns (namespace, name, version)."""
    match = _REF.match(ref)
    if match is None:
        raise BadRequest(f"Invalid orb reference {ref!r}: expected namespace/name@X.Y.Z.")
    await orb_store.publish_orb(
        tx, namespace=match["ns"], name=match["name"], version=match["version"], source=source
    )
    return match["ns"], match["name"], match["version"]


async def list_all(tx: AsyncSession) -> list[tuple[str, str, str]]:
    return await orb_store.list_orbs(tx)
