"""Jobs per second: PIPELINES pipelines of 5 trivial jobs (``run: "true"``) on ``circlet serve``
(SQLite, one built-in runner process with 2 slots). All pipelines are triggered at once; the time
runs from the first trigger to the last workflow's end. This is done ROUNDS times on one server
(the database grows from round to round, as a real one does); ``jobs_per_s`` is the median round.

Usage: .venv/bin/python bench/jobs_per_second.py [--pipelines 100] [--slots 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _serve import cpu_s, find_runner, make_repo, prepare, start_serve, stop, wait_pipeline

JOBS = 5
CONFIG = (
    "version: 2.1\njobs:\n"
    + "".join(f'  j{i}:\n    machine: true\n    steps:\n      - run: "true"\n' for i in range(JOBS))
    + "workflows:\n  main:\n    jobs: ["
    + ", ".join(f"j{i}" for i in range(JOBS))
    + "]\n"
)


async def run(tmp: Path, pipelines: int, slots: int, rounds: int) -> dict[str, object]:
    repo = make_repo(tmp / "repo", CONFIG)
    token = await prepare(tmp / "data", repo)
    proc, url = start_serve(tmp / "data", token, slots)
    measured: list[dict[str, object]] = []
    statuses: set[str] = set()
    try:
        runner_pid = await find_runner(proc.pid)
        async with httpx.AsyncClient(base_url=url, headers={"Circle-Token": token}, timeout=120) as http:
            for _ in range(rounds):
                cpu_before = (cpu_s(proc.pid), cpu_s(runner_pid, children=True))
                started = time.monotonic()
                created = await asyncio.gather(
                    *(http.post("/api/v2/project/gh/bench/app/pipeline", json={}) for _ in range(pipelines))
                )
                triggered = time.monotonic() - started
                results = [
                    await wait_pipeline(http, r.json()["id"], 0.1) for r in created
                ]  # one poll at a time
                took = time.monotonic() - started
                cpu = {
                    "server": cpu_s(proc.pid) - cpu_before[0],
                    "runner": cpu_s(runner_pid, children=True) - cpu_before[1],  # with its steps' processes
                }
                statuses.update(str(w["status"]) for ws in results for w in ws)
                measured.append(
                    {
                        "jobs_per_s": round(pipelines * JOBS / took, 1),
                        "trigger_all_s": round(triggered, 2),
                        "total_s": round(took, 2),
                        "cpu_ms_per_job": {
                            name: round(seconds * 1000 / (pipelines * JOBS), 2)
                            for name, seconds in cpu.items()
                        },
                    }
                )
    finally:
        stop(proc)
    spawn_ms = statistics.median(_spawn_true_s() for _ in range(50)) * 1000
    return {
        "pipelines": pipelines,
        "jobs": pipelines * JOBS,
        "runner_slots": slots,
        "rounds": rounds,
        "jobs_per_s": statistics.median(float(str(m["jobs_per_s"])) for m in measured),
        "jobs_per_s_each": [m["jobs_per_s"] for m in measured],
        "trigger_all_s": statistics.median(float(str(m["trigger_all_s"])) for m in measured),
        "cpu_ms_per_job": {
            name: statistics.median(float(m["cpu_ms_per_job"][name]) for m in measured)  # type: ignore[index]
            for name in ("server", "runner")
        },
        "each_round": measured,
        "workflow_statuses": sorted(statuses),
        "bash_true_spawn_median_ms": round(spawn_ms, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _spawn_true_s() -> float:
    """One bare ``bash -c true`` spawn: every job runs its step through bash, so ``slots`` divided by
    this time bounds the jobs per second of the runner's host."""
    started = time.perf_counter()
    subprocess.run(["bash", "-c", "true"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlet-bench-") as tmp:
        print(json.dumps(asyncio.run(run(Path(tmp), args.pipelines, args.slots, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
