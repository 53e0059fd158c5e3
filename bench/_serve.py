"""Shared by the benchmarks: a prepared data dir, ``circlet serve`` on a free port, RSS sampling."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from circlet.engine import accounts, projects
from circlet.settings import Settings
from circlet.store.db import Store

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/tmp",
}


def make_repo(path: Path, config: str) -> Path:
    (path / ".circleci").mkdir(parents=True)
    (path / ".circleci" / "config.yml").write_text(config)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=path, env=GIT_ENV, check=True)
    return path


async def prepare(data_dir: Path, repo: Path, *, database_url: str = "") -> str:
    store = Store.from_url(Settings(data_dir=data_dir, database_url=database_url).resolved_database_url())
    try:
        await store.migrate()
        async with store.transaction() as tx:
            _, token = await accounts.create_user(tx, login="bench", name="Bench", org="gh/bench")
            await projects.add_project(tx, "gh/bench/app", repo_url=str(repo), default_branch="main")
    finally:
        await store.close()
    return token


def start_serve(
    data_dir: Path, token: str, runners: int, *, database_url: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLET_")}
    env["CIRCLET_DATA_DIR"] = str(data_dir)
    if database_url:
        env["CIRCLET_DATABASE_URL"] = database_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "circlet", "serve", "--port", str(port), "--runners", str(runners)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/api/v2/me", headers={"Circle-Token": token}).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("circlet serve did not start")


def child_pids(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found


async def find_runner(server_pid: int) -> int:
    """The built-in runner child: ``serve`` answers requests a moment before it starts it."""
    for _ in range(600):
        if pids := child_pids(server_pid):
            return pids[0]
        await asyncio.sleep(0.05)
    raise SystemExit("circlet serve started no runner")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int, *, children: bool = False) -> float:
    """User plus system CPU seconds the process has used so far (with ``children``, also those of
    its children it has waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def wait_pipeline(
    http: httpx.AsyncClient, pipeline_id: str, poll_s: float = 0.05
) -> list[dict[str, object]]:
    while True:
        items = (await http.get(f"/api/v2/pipeline/{pipeline_id}/workflow")).json()["items"]
        if items and all(w["status"] not in ("running", "failing") for w in items):
            return list(items)
        await asyncio.sleep(poll_s)
