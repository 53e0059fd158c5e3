"""The compiler's orb source backed by the database registry."""

from __future__ import annotations

import anyio.from_thread
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.compiler.orbs import OrbRef, ResolvedOrb, resolve_version
from circlet.store import orbs as orb_store


class StoreOrbSource:
    """Fetches orbs through the caller's transaction from the compiler's worker thread."""

    def __init__(self, tx: AsyncSession) -> None:
        self._tx = tx

    def fetch(self, ref: OrbRef) -> ResolvedOrb | None:
        return anyio.from_thread.run(self._fetch, ref)

    async def _fetch(self, ref: OrbRef) -> ResolvedOrb | None:
        return await fetch_orb(self._tx, ref)


async def fetch_orb(tx: AsyncSession, ref: OrbRef) -> ResolvedOrb | None:
    version = resolve_version(ref.version, await orb_store.orb_versions(tx, ref.namespace, ref.name))
    if version is None:
        return None
    source = await orb_store.orb_source(tx, ref.namespace, ref.name, version)
    return ResolvedOrb(ref=ref, version=version, source=source) if source is not None else None
