"""``circlet project cache-retention``: how long a project's caches stay restorable (CircleCI sets this in
its "usage controls"; the server's default is ``CIRCLET_CACHE_RETENTION_DAYS``)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from circlet.cli.common import DataDir, in_transaction, make_settings
from circlet.engine import Tx, caches
from circlet.model.accounts import Project
from circlet.model.storage import Cache
from circlet.store.files import FileStore


def cache_retention(
    slug: str,
    days: Annotated[
        float | None, typer.Argument(help="Days a saved cache stays restorable (fractions allowed).")
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Use the server's default again.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Show or set how long the caches of a project (like gh/acme/app) can be restored.

    A new value applies to the caches already saved too (each expires that long after it was saved);
    expired caches are deleted at once.
    """
    settings = make_settings(data_dir)
    default_s = settings.cache_retention_days * caches.DAY_S
    if days is None and not default:
        project = in_transaction(settings, lambda tx: caches.project_named(tx, slug))
    else:

        async def _set(tx: Tx) -> tuple[Project, list[Cache]]:
            return await caches.set_retention(tx, slug, None if default else days, default_s=default_s)

        project, expired = in_transaction(settings, _set)
        files = FileStore(settings.data_dir / "storage")
        asyncio.run(files.delete(*(files.cache_path(c.project_id, c.id) for c in expired)))
        if expired:
            typer.echo(f"deleted {len(expired)} expired cache{'s' if len(expired) > 1 else ''}")
    retention_days = caches.retention_of(project, default_s) / caches.DAY_S
    source = "the server's default" if caches.retention_of(project, -1.0) < 0 else "set for the project"
    typer.echo(f"caches of {project.slug} are restorable for {retention_days:g} days ({source})")
