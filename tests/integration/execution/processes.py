"""Real ``circlet serve`` processes for tests: a prepared data dir (user, project), a free port,
and checks on which processes are still alive."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from circlet.engine import accounts, projects
from circlet.settings import Settings
from circlet.store.db import Store

START_TIMEOUT_S = 90.0  # seconds; a loaded machine imports slowly


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Circle-Token": self.token}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def prepare(settings: Settings, repo: Path, slug: str = "gh/acme/app") -> str:
    """Migrate the database, add a user and a project; returns the user's token."""
    store = Store.from_url(settings.resolved_database_url())
    try:
        await store.migrate()
        async with store.transaction() as tx:
            _, token = await accounts.create_user(tx, login="alice", name="Alice", org="gh/acme")
            await projects.add_project(tx, slug, repo_url=str(repo), default_branch="main")
    finally:
        await store.close()
    return token


def start_serve(settings: Settings, token: str, *, runners: int = 1) -> Served:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLET_")}
    env |= {"CIRCLET_DATA_DIR": str(settings.data_dir), "CIRCLET_DATABASE_URL": settings.database_url}
    log = settings.data_dir / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "circlet", "serve", "--port", str(port), "--runners", str(runners)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/api/v2/me", headers={"Circle-Token": token}, timeout=2).status_code == 200:
                return Served(proc, url, token)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("circlet serve did not start")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    """The pids still alive after ``timeout_s`` (empty when all ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        await asyncio.sleep(0.1)
    return [p for p in pids if alive(p)]


async def wait_file(path: Path, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never appeared")
