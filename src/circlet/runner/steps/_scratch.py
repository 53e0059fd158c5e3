"""Scratch files for a step's transfers, in the task's ``meta/transfers`` (removed with the task)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from circlet.runner.workspace import TaskDirs

KIB = 1024


@contextlib.contextmanager
def scratch_file(dirs: TaskDirs, suffix: str = "") -> Iterator[Path]:
    """A path to write to; the file is deleted when the block ends."""
    folder = dirs.meta / "transfers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < KIB or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= KIB
    return f"{size} B"  # pragma: no cover
