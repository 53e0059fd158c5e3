"""Web UI pages on a realistic history: median server time and weight of each page, beside
``GET /api/v2/me`` in the same run.

    .venv/bin/python bench/web_pages.py --runs 20000 --calls 30

Seeds RUNS finished workflow runs (about 10 jobs each, ``circlet.insights.seed``) into a fresh SQLite
data dir (``--db postgresql://...`` to use a database on a PostgreSQL server instead), starts ``circlet
serve`` with one built-in runner, runs one real pipeline (three workflows, two of them left out by
filters, a job with several steps, test results and an artifact), signs in through the sign-in form and
requests each page CALLS times after a warm-up (on PostgreSQL the seeded tables are analyzed first, as
autovacuum would do soon after such a bulk write). ``server`` is the page's ``Server-Timing`` (auth,
reads and rendering inside the app); ``round trip`` is what the client saw over loopback HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _serve import make_repo, prepare, start_serve, stop

from circlet.insights.seed import seed_project_history
from circlet.settings import Settings
from circlet.store._types import utcnow
from circlet.store.db import Store

SLUG = "gh/bench/app"
PG_DB = "circlet_web_bench"
CONFIG = """\
version: 2.1
parameters:
  deploy: {type: boolean, default: false}
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: {name: Prepare, command: "for i in $(seq 1 200); do printf '\\\\033[32mline %s\\\\033[0m of the build\\\\n' $i; done"}
      - run: {name: Compile, command: "seq 1 500"}
      - run:
          name: Test
          command: |
            mkdir -p results
            printf '<testsuite name="s" tests="3"><testcase classname="a" name="t1" time="0.1"/><testcase classname="a" name="t2" time="0.2"/><testcase classname="a" name="t3" time="0.3"/></testsuite>' > results/junit.xml
      - store_test_results: {path: results}
      - store_artifacts: {path: results}
  lint: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
  publish: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
workflows:
  ci:
    jobs:
      - build
      - lint
      - publish: {requires: [build, lint], filters: {branches: {only: release}}}
  deploy:
    when: << pipeline.parameters.deploy >>
    jobs: [build]
  release:
    jobs:
      - publish: {filters: {tags: {only: /^v.*/}, branches: {ignore: /.*/}}}
"""


async def _database(db: str) -> str:
    if db == "sqlite":
        return ""
    conn = await asyncpg.connect(db)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    return db.rsplit("/", 1)[0] + f"/{PG_DB}"


async def _seed(data_dir: Path, database_url: str, runs: int) -> None:
    store = Store.from_url(Settings(data_dir=data_dir, database_url=database_url).resolved_database_url())
    started = time.perf_counter()
    try:
        jobs = await seed_project_history(store, SLUG, runs, end=utcnow(), days=120)
    finally:
        await store.close()
    print(f"seeded {runs} workflow runs, {jobs} job runs in {time.perf_counter() - started:.0f}s", flush=True)
    if database_url:  # as autovacuum would soon: the planner needs statistics of the bulk-written tables
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()


def _run_pipeline(url: str, token: str) -> tuple[int, str, int]:
    """Trigger a pipeline on main and wait for it; returns its number, its ci workflow id and job number."""
    api = httpx.Client(base_url=f"{url}/api/v2", headers={"Circle-Token": token}, timeout=30)
    pipeline = api.post(f"/project/{SLUG}/pipeline", json={"branch": "main"}).json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        flows = api.get(f"/pipeline/{pipeline['id']}/workflow").json()["items"]
        if flows and all(w["status"] not in ("running", "failing") for w in flows):
            break
        time.sleep(0.2)
    else:
        raise SystemExit("the pipeline did not finish")
    ci = next(w for w in flows if w["name"] == "ci")
    jobs = api.get(f"/workflow/{ci['id']}/job").json()["items"]
    build = next(j for j in jobs if j["name"] == "build")
    return pipeline["number"], ci["id"], build["job_number"]


def _sign_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    form = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form)
    assert match
    response = client.post("/login", data={"token": token, "next": "/", "csrf_token": match.group(1)})
    assert response.status_code == 303, response.status_code
    return client


def _measure(
    client: httpx.Client, path: str, calls: int, headers: dict[str, str]
) -> tuple[float, float, int]:
    """Median round trip (ms), median Server-Timing (ms, NaN when absent) and size (bytes)."""
    client.get(path, headers=headers)  # warm-up
    trips, server, size = [], [], 0
    for _ in range(calls):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        trips.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.content)
        timing = re.search(r"app;dur=([\d.]+)", response.headers.get("server-timing", ""))
        server.append(float(timing.group(1)) if timing else float("nan"))
    return statistics.median(trips), statistics.median(server), size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20_000, help="seeded workflow runs (about 10 jobs each)")
    parser.add_argument("--calls", type=int, default=30, help="requests per page after a warm-up")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a postgresql:// URL of a server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlet-web-bench-") as tmp:
        data_dir, repo = Path(tmp) / "data", make_repo(Path(tmp) / "repo", CONFIG)
        database_url = asyncio.run(_database(args.db))
        token = asyncio.run(prepare(data_dir, repo, database_url=database_url))
        asyncio.run(_seed(data_dir, database_url, args.runs))
        proc, url = start_serve(data_dir, token, runners=1, database_url=database_url)
        try:
            number, workflow_id, job_number = _run_pipeline(url, token)
            browser = _sign_in(url, token)
            base = f"/pipelines/{SLUG}"
            pages = [
                ("baseline: GET /api/v2/me", "/api/v2/me", {"Circle-Token": token}),
                ("projects", "/", {}),
                ("pipelines list (20 rows)", base, {}),
                ("pipeline", f"{base}/{number}", {}),
                ("workflow", f"{base}/{number}/workflows/{workflow_id}", {}),
                ("job", f"{base}/{number}/workflows/{workflow_id}/jobs/{job_number}", {}),
                ("config", f"{base}/{number}/config", {}),
                ("plan", f"{base}/{number}/config/plan", {}),
                ("insights (30 days)", f"/insights/{SLUG}", {}),
                ("insights (90 days)", f"/insights/{SLUG}?window=last-90-days", {}),
            ]
            print(f"{'page':28} {'server ms':>10} {'round trip ms':>14} {'x baseline':>11} {'KB':>7}")
            baseline = 0.0
            for label, path, headers in pages:
                trip, server, size = _measure(browser, path, args.calls, headers)
                baseline = baseline or trip
                print(
                    f"{label:28} {server:10.1f} {trip:14.1f} {trip / baseline:11.1f} {size / 1024:7.1f}",
                    flush=True,
                )
        finally:
            stop(proc)
    print(subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())


if __name__ == "__main__":
    main()
