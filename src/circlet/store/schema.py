"""Every table module, imported so ``Base.metadata`` is complete (Alembic and tests use this)."""

from __future__ import annotations

from circlet.store import tables, tables_artifacts, tables_hooks, tables_insights, tables_settings
from circlet.store.tables import Base

metadata = Base.metadata

__all__ = [
    "Base",
    "metadata",
    "tables",
    "tables_artifacts",
    "tables_hooks",
    "tables_insights",
    "tables_settings",
]
