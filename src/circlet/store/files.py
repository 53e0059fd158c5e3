"""The bytes of caches, workspace layers and artifacts: files under the data dir, written as they arrive.

Layout under ``root``::

    caches/<project_id>/<cache_id>
    workspaces/<workflow_id>/<layer_id>
    artifacts/<job_id>/<node_index>/<sha256 of the artifact path>
    incoming/<random>          (uploads in progress; renamed into place when complete)

An upload is written chunk by chunk to ``incoming/`` and renamed into place, so a reader never sees half
a file and a retried upload replaces its own earlier attempt. Like the log files, ``root`` must be shared
storage when several API servers run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from circlet.errors import BadRequest


class UploadTooLarge(BadRequest):
    """The upload is larger than the server accepts."""


class FileStore:
    """Files for caches, workspaces and artifacts under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def cache_path(self, project_id: str, cache_id: str) -> Path:
        return self.root / "caches" / project_id / cache_id

    def layer_path(self, workflow_id: str, layer_id: str) -> Path:
        return self.root / "workspaces" / workflow_id / layer_id

    def artifact_path(self, job_id: str, node_index: int, path: str) -> Path:
        name = hashlib.sha256(path.encode()).hexdigest()
        return self.root / "artifacts" / job_id / str(node_index) / name

    def incoming_path(self) -> Path:
        return self.root / "incoming" / uuid.uuid4().hex

    async def receive(self, chunks: AsyncIterator[bytes], dest: Path, *, max_bytes: int = 0) -> int:
        """Write ``chunks`` to ``dest`` (through a temporary file); returns the size in bytes.

        Raises UploadTooLarge (and keeps nothing) when ``max_bytes`` (0 = no limit) is exceeded.
        """
        tmp = self.incoming_path()
        await anyio.to_thread.run_sync(lambda: tmp.parent.mkdir(parents=True, exist_ok=True))
        size = 0
        try:
            async with await anyio.open_file(tmp, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if max_bytes and size > max_bytes:
                        raise UploadTooLarge(f"The upload is larger than {max_bytes} bytes.")
                    await out.write(chunk)
            await anyio.to_thread.run_sync(_move_into_place, tmp, dest)
        except BaseException:
            await self.delete(tmp)
            raise
        return size

    async def delete(self, *paths: Path) -> None:
        await anyio.to_thread.run_sync(_delete_files, paths)


def _move_into_place(tmp: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, dest)


def _delete_files(paths: tuple[Path, ...]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
