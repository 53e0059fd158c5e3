"""``circlet dev``: developer tools (synthetic history for Insights)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer

from circlet.cli.common import DataDir, make_settings
from circlet.engine.slugs import normalize_project_slug
from circlet.errors import CIError
from circlet.insights.seed import seed_project_history
from circlet.store._types import utcnow
from circlet.store.db import Store

dev_app = typer.Typer(help="Developer tools.", no_args_is_help=True)


@dev_app.command("seed-history")
def seed_history(
    project: Annotated[str, typer.Option("--project", help="Project slug, like gh/acme/app.")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Workflow runs to write (about 10 jobs each).")],
    days: Annotated[int, typer.Option(help="Spread the runs over this many days before now.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same history).")] = 5,
    data_dir: DataDir = None,
) -> None:
    """Write a realistic finished history (workflows, jobs, branches, failures, test results) for Insights."""
    settings = make_settings(data_dir)
    started = time.perf_counter()

    async def _run() -> int:
        store = Store.from_url(settings.resolved_database_url())
        try:
            await store.migrate()
            return await seed_project_history(
                store,
                normalize_project_slug(project),
                runs,
                end=utcnow(),
                days=days,
                seed=seed,
                progress=lambda n: typer.echo(f"  {n} workflow runs written", err=True),
            )
        finally:
            await store.close()

    try:
        jobs = asyncio.run(_run())
    except CIError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"seeded {runs} workflow runs and {jobs} job runs in {time.perf_counter() - started:.1f}s")
