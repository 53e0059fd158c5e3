"""Step output on disk: one append-only file per job, node and step, written as chunks arrive."""

from __future__ import annotations

import os
from pathlib import Path

import anyio

READ_CHUNK = 65536  # bytes


class LogStore:
    """Files under ``root/<job_id>/<node_index>/<step_index>.log``.

    In a fleet of API servers ``root`` must be shared storage, like the rest of the data dir.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, job_id: str, node_index: int, step_index: int) -> Path:
        return self.root / job_id / str(node_index) / f"{step_index}.log"

    async def append(
        self, job_id: str, node_index: int, step_index: int, *, offset: int, data: bytes, cap_bytes: int = 0
    ) -> tuple[int, bool]:
        """Write ``data`` at ``offset`` (a retried chunk overwrites itself); return (size, truncated)."""
        return await anyio.to_thread.run_sync(
            self._append, self.path(job_id, node_index, step_index), offset, data, cap_bytes
        )

    @staticmethod
    def _append(path: Path, offset: int, data: bytes, cap_bytes: int) -> tuple[int, bool]:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            offset = min(offset, size)  # never leave a hole
            truncated = False
            if cap_bytes and offset + len(data) > cap_bytes:
                data = data[: max(0, cap_bytes - offset)]
                truncated = True
            os.pwrite(fd, data, offset)
            return max(size, offset + len(data)), truncated
        finally:
            os.close(fd)

    async def read(
        self, job_id: str, node_index: int, step_index: int, *, offset: int = 0, limit: int = -1
    ) -> bytes:
        path = self.path(job_id, node_index, step_index)
        return await anyio.to_thread.run_sync(self._read, path, offset, limit)

    @staticmethod
    def _read(path: Path, offset: int, limit: int) -> bytes:
        try:
            with path.open("rb") as f:
                f.seek(offset)
                return f.read(limit)
        except FileNotFoundError:
            return b""

    def size(self, job_id: str, node_index: int, step_index: int) -> int:
        try:
            return self.path(job_id, node_index, step_index).stat().st_size
        except FileNotFoundError:
            return 0
