"""Insights latency on a big history: every endpoint's median over N calls, beside one plain SQL
aggregation over the raw job rows.

    .venv/bin/python bench/insights.py --db sqlite --runs 100000          # ~1,000,000 job runs
    .venv/bin/python bench/insights.py --db postgresql://postgres@127.0.0.1:5432/test --runs 100000

The history is written by ``circlet.insights.seed`` (the same recording code real runs use) into a
database kept between runs (``--fresh`` to rebuild). Requests go through the real app in-process
(httpx ASGI transport), so the figures include routing, auth, the transaction and JSON encoding.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text

from circlet.api.app import create_app
from circlet.engine import accounts, projects
from circlet.insights.seed import seed_project_history
from circlet.settings import Settings
from circlet.store._types import utcnow
from circlet.store.db import Store

DATA = Path("/tmp/circlet-insights-bench")
PG_DB = "circlet_insights_bench"  # created on the server given by --db; drop it when done
SLUG = "gh/bench/app"

ENDPOINTS = [
    ("workflows (90d, default branch)", "/insights/gh/bench/app/workflows", {}),
    ("workflows (90d, all branches)", "/insights/gh/bench/app/workflows", {"all-branches": "true"}),
    ("workflows (7d)", "/insights/gh/bench/app/workflows", {"reporting-window": "last-7-days"}),
    ("workflow runs", "/insights/gh/bench/app/workflows/ci", {}),
    ("workflow jobs (90d, all branches)", "/insights/gh/bench/app/workflows/ci/jobs", {"all-branches": "true"}),
    ("job runs (older endpoint)", "/insights/gh/bench/app/workflows/ci/jobs/unit", {}),
    ("workflow summary (90d, all branches)", "/insights/gh/bench/app/workflows/ci/summary", {"all-branches": "true"}),
    ("test metrics", "/insights/gh/bench/app/workflows/ci/test-metrics", {}),
    ("branches", "/insights/gh/bench/app/branches", {}),
    ("flaky tests", "/insights/gh/bench/app/flaky-tests", {}),
    ("project pages summary (90d)", "/insights/pages/gh/bench/app/summary", {}),
    ("org summary (90d)", "/insights/gh/bench/summary", {}),
    ("job time series (daily, 90d)", "/insights/time-series/gh/bench/app/workflows/ci/jobs", {}),
    ("job time series (hourly, 48h)", "/insights/time-series/gh/bench/app/workflows/ci/jobs", {"granularity": "hourly"}),
]  # fmt: skip

RAW_SQL = """
SELECT j.name, COUNT(*), SUM(CASE WHEN j.status = 'success' THEN 1 ELSE 0 END), MIN(j.stopped_at), MAX(j.stopped_at)
FROM jobs j JOIN workflows w ON w.id = j.workflow_id
WHERE j.project_id = :project AND w.name = 'ci' AND j.started_at >= :since
GROUP BY j.name
"""


async def _database_url(db: str, fresh: bool, data: Path) -> str:
    if db == "sqlite":
        path = data / "insights.db"
        if fresh and path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    conn = await asyncpg.connect(db)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", PG_DB)
        if exists and fresh:
            await conn.execute(f'DROP DATABASE "{PG_DB}" WITH (FORCE)')
        if not exists or fresh:
            await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    return db.rsplit("/", 1)[0] + f"/{PG_DB}"


async def _ensure_history(store: Store, runs: int) -> tuple[str, str]:
    async with store.transaction() as tx:
        project = await projects.find_project(tx, SLUG)
        token_user = f"bench-{uuid.uuid4().hex[:6]}"
        _user, token = await accounts.create_user(tx, login=token_user, name="Bench", org="gh/bench")
        if project is None:
            project = await projects.add_project(tx, SLUG, repo_url="/nonexistent", default_branch="main")
            seeded = 0
        else:
            seeded = int(await tx.scalar(text("SELECT COUNT(*) FROM insights_workflow_runs")) or 0)
    if seeded < runs:
        started = time.perf_counter()
        jobs = await seed_project_history(
            store, SLUG, runs - seeded, end=utcnow(), seed=seeded + 5,
            progress=lambda n: print(f"  seeded {n} workflow runs ({time.perf_counter() - started:.0f}s)", flush=True),
        )  # fmt: skip
        print(
            f"seeded {runs - seeded} workflow runs, {jobs} job runs in {time.perf_counter() - started:.0f}s"
        )
    if not store.is_sqlite:
        # planner statistics after a bulk load, as autovacuum would gather them (it may be off on a test server)
        async with store.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("ANALYZE"))
    return project.id, token


async def _median_ms(call: Any, calls: int) -> tuple[float, float]:
    """Median wall time of ``calls`` calls, and this process's mean CPU time per call (ms).

    CPU time moves far less than wall time with other processes' load; on SQLite it includes the
    database work (aiosqlite's thread), on PostgreSQL not the server's.
    """
    await call()  # warm-up (statement caches, first page of the file)
    samples = []
    cpu_started = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), (time.process_time() - cpu_started) * 1000 / calls


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", default="sqlite", help="sqlite, or a postgresql:// URL of a server to create a database on"
    )
    parser.add_argument("--runs", type=int, default=100_000, help="workflow runs (about 10 job runs each)")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--fresh", action="store_true", help="drop and re-seed the bench database")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="run only endpoints whose label contains this (repeatable)",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="where the SQLite bench database is kept")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    url = await _database_url(args.db, args.fresh, args.data)
    app = create_app(Settings(data_dir=args.data / "data", database_url=url))
    async with app.router.lifespan_context(app):
        store: Store = app.state.store
        project_id, token = await _ensure_history(store, args.runs)
        async with store.transaction() as tx:
            counts = {
                t: await tx.scalar(text(f"SELECT COUNT(*) FROM {t}"))
                for t in ("jobs", "workflows", "test_results")
            }
        print(f"database: {store.dialect}; rows: {counts}")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            print(f"{'endpoint':44} {'median ms':>10} {'cpu ms':>7}  status")
            for label, path, params in ENDPOINTS:
                if args.only and not any(part in label for part in args.only):
                    continue
                status: list[int] = []

                async def call(
                    path: str = path, params: dict[str, str] = params, status: list[int] = status
                ) -> None:
                    response = await client.get(
                        "/api/v2" + path, params=params, headers={"Circle-Token": token}
                    )
                    status.append(response.status_code)

                median, cpu = await _median_ms(call, args.calls)
                print(f"{label:44} {median:10.1f} {cpu:7.1f}  {sorted(set(status))}", flush=True)
        since = utcnow() - timedelta(days=90)

        async def raw() -> None:
            async with store.transaction() as tx:
                (
                    await tx.execute(
                        text(RAW_SQL),
                        {
                            "project": project_id,
                            "since": since if not store.is_sqlite else since.replace(tzinfo=None),
                        },
                    )
                ).all()

        median, cpu = await _median_ms(raw, min(args.calls, 5))
        print(f"{'plain SQL over raw jobs (90d, per job name)':44} {median:10.1f} {cpu:7.1f}")


if __name__ == "__main__":
    asyncio.run(main())
