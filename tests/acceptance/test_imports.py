"""What processes load at start. ``circlet runner`` loads only the runner and its HTTP client: a real
runner process, started as ``circlet serve`` starts its built-in one, is watched with ``-X importtime``
until it tries to claim. The server loads numpy and Alembic only when it needs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CLAIM_TIMEOUT_S = 60.0  # seconds for the runner to start and make its first claim
SERVER_SIDE = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "numpy",
    "jinja2",
    "alembic",
    "yaml",
    "typer",
    "pydantic",
    "rich",
    "circlet.api",
    "circlet.web",
    "circlet.engine",
    "circlet.insights",
    "circlet.store",
    "circlet.compiler",
    "circlet.settings",
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_runner_process_imports_no_server_side_package(tmp_path: Path) -> None:
    log = tmp_path / "runner.err"
    env = {**os.environ, "CIRCLET_RUNNER_TOKEN": "crt_test"}
    server = f"http://127.0.0.1:{_closed_port()}"
    argv = ["runner", "--server", server, "--work-dir", str(tmp_path / "work")]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "circlet", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + CLAIM_TIMEOUT_S
        while "claim failed" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    text = log.read_text()
    assert "claim failed" in text, text[-2000:]
    imported = _imported(text)
    assert "circlet.runner.agent" in imported and "httpx" in imported  # the log is what we think
    leaked = sorted(
        name for name in imported if any(name == p or name.startswith(p + ".") for p in SERVER_SIDE)
    )
    assert leaked == []


def test_server_app_imports_neither_numpy_nor_alembic() -> None:
    script = (
        "import sys; import circlet.cli.serve; from circlet.api.app import create_app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'alembic')))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
