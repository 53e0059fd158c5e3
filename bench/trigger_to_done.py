"""Trigger-to-done latency of a 1-job ``run: echo hello`` pipeline, and the idle RSS of ``circlet serve``.

Starts ``circlet serve`` (SQLite, one built-in runner) on a free port with a temp data dir, adds a user
and a project through the CLI, then triggers RUNS pipelines one after another over API v2 and waits
for each workflow to reach ``success``. Prints the median beside the median of a bare
``bash -c 'echo hello'`` spawn measured in the same run.

Usage: .venv/bin/python bench/trigger_to_done.py [--runs 50] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

CONFIG = """\
version: 2.1
jobs:
  hello:
    docker:
      - image: cimg/base:stable
    steps:
      - run: echo hello
workflows:
  main:
    jobs:
      - hello
"""
POLL_S = 0.01  # seconds between status reads while a pipeline runs (faster polling loads the server)
START_TIMEOUT_S = 30.0  # seconds
RUN_TIMEOUT_S = 30.0  # seconds per pipeline
IDLE_SETTLE_S = 3.0  # seconds of idleness before RSS is read
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/tmp",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlet-bench-") as tmp:
        result = run_bench(Path(tmp), args.runs)
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="circlet-bench-kept-"))
            subprocess.run(["cp", "-a", f"{tmp}/.", str(kept)], check=True)
            result["kept"] = str(kept)
    print(json.dumps(result, indent=2))


def run_bench(tmp: Path, runs: int) -> dict[str, object]:
    data_dir = tmp / "data"
    repo = make_repo(tmp / "repo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLET_")}
    env["CIRCLET_DATA_DIR"] = str(data_dir)
    token = cli(env, "user", "create", "bench", "--org", "gh/bench")
    cli(env, "project", "add", "gh/bench/hello", "--repo", str(repo))
    server = subprocess.Popen(
        [sys.executable, "-m", "circlet", "serve", "--port", str(port), "--runners", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v2"
        with httpx.Client(base_url=base, headers={"Circle-Token": token}, timeout=30) as client:
            wait_ready(client, server)
            trigger_and_wait(client)  # warm-up: imports, first claim, page cache
            time.sleep(IDLE_SETTLE_S)
            rss_idle_mb = tree_rss_mb(server.pid)
            observed, recorded, reads = [], [], 0
            cpu_before_s = tree_cpu_s(server.pid)
            for _ in range(runs):
                seen_s, stored_s, polls = trigger_and_wait(client)
                reads += polls
                observed.append(seen_s)
                recorded.append(stored_s)
            cpu_per_run_ms = (tree_cpu_s(server.pid) - cpu_before_s) / runs * 1000
            cpu_per_read_ms = status_read_cpu_ms(client, server.pid)
            time.sleep(IDLE_SETTLE_S)
            rss_after_mb = tree_rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    bash_ms = [spawn_bash_s() * 1000 for _ in range(runs)]
    return {
        "runs": runs,
        "trigger_to_success_median_ms": round(statistics.median(observed) * 1000, 1),
        "trigger_to_success_p90_ms": round(quantile(observed, 0.9) * 1000, 1),
        "trigger_to_stopped_at_median_ms": round(statistics.median(recorded) * 1000, 1),
        "bash_echo_spawn_median_ms": round(statistics.median(bash_ms), 2),
        "server_and_runner_cpu_per_pipeline_ms": round(cpu_per_run_ms, 1),
        "status_reads_per_pipeline": round(reads / runs, 1),
        "server_cpu_per_status_read_ms": round(cpu_per_read_ms, 2),
        "idle_rss_serve_and_runner_mb": round(rss_idle_mb, 1),
        "idle_rss_after_runs_mb": round(rss_after_mb, 1),
    }


def trigger_and_wait(client: httpx.Client) -> tuple[float, float, int]:
    """(seconds until a read saw ``success``, seconds until the workflow's recorded ``stopped_at``,
    status reads made)."""
    started_wall = time.time()
    started = time.perf_counter()
    response = client.post("/project/gh/bench/hello/pipeline", json={"branch": "main"})
    response.raise_for_status()
    pipeline_id = response.json()["id"]
    deadline = started + RUN_TIMEOUT_S
    reads = 0
    while time.perf_counter() < deadline:
        reads += 1
        items = client.get(f"/pipeline/{pipeline_id}/workflow").json()["items"]
        if items and items[0]["status"] not in ("running", "on_hold", "failing"):
            seen = time.perf_counter() - started
            workflow = items[0]
            if workflow["status"] != "success":
                raise RuntimeError(f"workflow ended {workflow['status']}")
            stopped = datetime.fromisoformat(workflow["stopped_at"].replace("Z", "+00:00")).timestamp()
            return seen, stopped - started_wall, reads
        time.sleep(POLL_S)
    raise RuntimeError(f"pipeline {pipeline_id} did not finish in {RUN_TIMEOUT_S} s")


def status_read_cpu_ms(client: httpx.Client, pid: int, reads: int = 100) -> float:
    """Server CPU per ``GET /pipeline/{id}/workflow`` (to tell the polling's share from the pipeline's)."""
    pipeline_id = client.get("/project/gh/bench/hello/pipeline").json()["items"][0]["id"]
    before_s = tree_cpu_s(pid)
    for _ in range(reads):
        client.get(f"/pipeline/{pipeline_id}/workflow").raise_for_status()
    return (tree_cpu_s(pid) - before_s) / reads * 1000


def spawn_bash_s() -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-c", "echo hello"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def wait_ready(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"circlet serve exited with {server.returncode}")
        try:
            if client.get("/me").status_code == httpx.codes.OK:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("circlet serve did not start")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB."""
    total_kb = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total_kb / 1024


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants (children that exited are not counted:
    the server's runner child lives as long as the server; a step's bash is counted in its runner's
    cutime once reaped)."""
    total_ticks = 0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total_ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total_ticks / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(c) for c in text)
    return children + [d for c in children for d in descendants(c)]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def make_repo(path: Path) -> Path:
    (path / ".circleci").mkdir(parents=True)
    (path / ".circleci" / "config.yml").write_text(CONFIG)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *argv], cwd=path, env=GIT_ENV, check=True)
    return path


def cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "circlet", *args], env=env, check=True, capture_output=True, text=True
    ).stdout
    return out.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
