"""Use cases of the CI server; each runs in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

#: The transaction every engine function takes; opened by the caller (``api.deps``, a loop, the CLI).
Tx = AsyncSession

__all__ = ["Tx"]
