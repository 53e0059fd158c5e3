"""Helpers shared by CLI commands: settings from flags, a store for one command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import CIError
from circlet.settings import Settings
from circlet.store.db import Store

T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default $CIRCLET_DATA_DIR or ~/.local/share/circlet)."),
]


def make_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir.expanduser().resolve()
    return Settings(**values)


def in_transaction(
    settings: Settings,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    shared: Mapping[str, object] | None = None,
) -> T:
    """Run ``work`` in one transaction on a migrated store (given ``shared``, e.g. the secret box);
    CIError becomes a clean exit."""

    async def _run() -> T:
        store = Store.from_url(
            settings.resolved_database_url(), shared=shared, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            await store.migrate()
            async with store.transaction() as tx:
                return await work(tx)
        finally:
            await store.close()

    try:
        return asyncio.run(_run())
    except CIError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
