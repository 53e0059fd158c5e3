"""Ownership of the work directory: one runner per directory (a lock file), and clean-up of task
directories and processes left behind by a runner that died."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from circlet.runner.workspace import TaskDirs

logger = logging.getLogger(__name__)

LOCK_NAME = ".runner.lock"
_OWNER_VARS = (b"HOME=", b"BASH_ENV=")  #: variables that point into a task directory


class WorkDirBusy(Exception):
    """Another runner is using this work directory."""


@contextlib.contextmanager
def owned_work_dir(work_dir: Path) -> Iterator[None]:
    """Hold the work directory's lock for the duration of the block.

    Raises:
        WorkDirBusy: another live runner holds it.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(work_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkDirBusy(f"another runner is using {work_dir}") from None
        yield
    finally:
        os.close(fd)


def sweep_stale_tasks(work_dir: Path) -> int:
    """Kill processes still running from task directories in ``work_dir`` and delete those
    directories. Call only while holding the lock: then no task directory is live.

    Returns:
        How many processes were killed.
    """
    stale = [path for path in work_dir.iterdir() if path.is_dir()]
    if not stale:
        return 0
    roots = tuple(str(path.absolute()).encode() + b"/" for path in stale)
    killed = 0
    for pid in _pids_under(roots):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    for path in stale:
        TaskDirs(path).remove()
    if killed:
        logger.warning("killed %d processes left by a previous runner", killed, extra={"action": "sweep"})
    return killed


def _pids_under(roots: tuple[bytes, ...]) -> Iterator[int]:
    own = os.getpid()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for var in environ.split(b"\0"):
            if var.startswith(_OWNER_VARS) and var.split(b"=", 1)[1].startswith(roots):
                yield int(entry.name)
                break
