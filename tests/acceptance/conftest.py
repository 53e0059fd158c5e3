"""Acceptance fixtures: ``circlet serve``, ``circlet runner`` and the other CLI commands as real
subprocesses on a free port, with a temp data dir (and a fresh PostgreSQL database when
``CIRCLET_TEST_DATABASE_URL`` is set), driven over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_ENV

START_TIMEOUT_S = 30.0  # seconds for `circlet serve` to answer
STOP_TIMEOUT_S = 15.0  # seconds between SIGTERM and SIGKILL at teardown
CLI_TIMEOUT_S = 60.0  # seconds for one CLI command
POLL_S = 0.05  # seconds between status reads


@dataclass
class Circlet:
    """Runs ``circlet`` commands against one data dir (and database)."""

    data_dir: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str) -> str:
        """Run a CLI command to completion; returns its last line of stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "circlet", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, f"circlet {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout.strip().splitlines()[-1]

    def spawn(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running CLI command in its own process group; stopped at teardown."""
        log = (self.data_dir.parent / f"{args[0]}-{len(self.processes)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "circlet", *args],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(proc)
        return proc

    def serve(self, *args: str, extra_env: dict[str, str] | None = None) -> Server:
        """Start ``circlet serve`` on a free port and wait until it answers."""
        port = free_port()
        proc = self.spawn("serve", "--port", str(port), *args, extra_env=extra_env)
        server = Server(f"http://127.0.0.1:{port}", proc)
        server.wait_ready()
        return server

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            stop_process(proc)

    def print_logs(self) -> None:
        """Shown by pytest when a test fails (captured output)."""
        for log in sorted(self.data_dir.parent.glob("*.log")):
            sys.stdout.write(f"----- {log.name}\n{log.read_text(errors='replace')[-5000:]}\n")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"circlet serve exited with {self.proc.returncode}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/api/v2/me", timeout=2).status_code == httpx.codes.UNAUTHORIZED:
                    return
            time.sleep(POLL_S)
        raise AssertionError("circlet serve did not start")

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Circle-Token": token}, timeout=30)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it is still there after STOP_TIMEOUT_S."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def circlet(tmp_path: Path, database_url: str) -> Iterator[Circlet]:
    """``circlet`` commands sharing one temp data dir and a fresh database."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "USER", "LOGNAME")}
    env["HOME"] = str(tmp_path / "home")
    env["CIRCLET_DATA_DIR"] = str(data_dir)
    if os.environ.get(PG_ENV):
        env["CIRCLET_DATABASE_URL"] = database_url
    tool = Circlet(data_dir, env)
    try:
        yield tool
    finally:
        tool.stop_all()
        tool.print_logs()


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], *, timeout_s: float, what: str) -> Any:
    """Call ``read`` until ``done(value)``; fail after ``timeout_s`` with the last value."""
    deadline = time.monotonic() + timeout_s
    value: Any = None
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {value!r}")
