"""Step output on disk: one append-only file per job, node and step, written as chunks arrive."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import anyio

from circlet.errors import Unavailable

READ_CHUNK = 65536  # bytes
WRITE_BYTES = 1024 * 1024  # bytes of a streamed body gathered before one write
WRITE_PIECES = 256  # pieces gathered at most before one write (well under IOV_MAX)


INLINE_WRITE_BYTES = 16 * 1024  # bytes written on the event loop's thread rather than a worker's
INLINE_WRITE_MAX_S = 0.004  # a streamed body's write this slow sends its later writes to a worker thread
AHEAD_WAIT_S = 10.0  # seconds an upload past the log's end waits for the bytes before it
AHEAD_POLL_S = 0.05  # seconds between size checks while it waits (the writer may be another process)


class LogStore:
    """Files named ``root/<first two characters of the job id>/<job_id>.<node_index>.<step_index>.log``.

    A new directory costs as much as a new file (each about 0.3 ms of CPU on this project's reference
    machine), so the layout needs no directory per job: the 256 shard directories of a UUID's first two
    characters are made once. Logs written by earlier releases, under ``root/<job_id>/<node_index>/
    <step_index>.log``, are still read and appended to where they are.

    In a fleet of API servers ``root`` must be shared storage, like the rest of the data dir.
    """

    def __init__(self, root: Path, *, ahead_wait_s: float = AHEAD_WAIT_S) -> None:
        self.root = root
        self.ahead_wait_s = ahead_wait_s

    def path(self, job_id: str, node_index: int, step_index: int) -> Path:
        """Where the step's log is: its file in the layout of an earlier release if there is one."""
        flat = self.root / job_id[:2] / f"{job_id}.{node_index}.{step_index}.log"
        if not flat.exists():
            nested = self.root / job_id / str(node_index) / f"{step_index}.log"
            if nested.exists():
                return nested
        return flat

    async def append(
        self,
        job_id: str,
        node_index: int,
        step_index: int,
        *,
        offset: int,
        data: bytes,
        cap_bytes: int = 0,
        in_thread: bool = False,
    ) -> tuple[int, bool]:
        """Write ``data`` at ``offset`` (a retried chunk overwrites itself); return (size, truncated).

        A small piece (most steps' whole output) is written at once: a few system calls cost less
        than the hand-off to a worker thread and back, unless ``in_thread`` (the caller has other
        work to do meanwhile)."""
        path = self.path(job_id, node_index, step_index)
        if len(data) <= INLINE_WRITE_BYTES and not in_thread:
            return self._append(path, offset, data, cap_bytes)
        return await anyio.to_thread.run_sync(self._append, path, offset, data, cap_bytes)

    @staticmethod
    def _append(path: Path, offset: int, data: bytes, cap_bytes: int) -> tuple[int, bool]:
        fd, size = _open(path)
        try:
            offset = min(offset, size)  # never leave a hole
            end, truncated = _write_capped(fd, [data], offset, cap_bytes)
            return max(size, end), truncated
        finally:
            os.close(fd)

    async def receive(
        self,
        job_id: str,
        node_index: int,
        step_index: int,
        *,
        offset: int,
        chunks: AsyncIterator[bytes],
        cap_bytes: int = 0,
        on_write: Callable[[], None] | None = None,
    ) -> tuple[int, bool]:
        """Write a streamed body at ``offset`` as it arrives, about ``WRITE_BYTES`` at a time, like
        :meth:`append` (bytes past the cap are read and dropped); ``on_write`` runs after each
        write. Writes run on the event loop's thread (a 1 MiB write into the page cache costs less
        than handing it to a worker thread, whose wake-ups fight for the GIL) until one takes longer
        than ``INLINE_WRITE_MAX_S`` (slow or network storage): from then on they run in a worker
        thread, one at a time, while the next piece of the body is received.

        A body whose ``offset`` is past the log's end waits (before it is read) for the bytes
        before it, which an upload sent just before it is writing, for up to ``ahead_wait_s``
        (then :class:`Unavailable`). Returns (size, truncated)."""
        fd, size = await anyio.to_thread.run_sync(_open, self.path(job_id, node_index, step_index))
        try:
            if offset > size:
                size = await self._reach(fd, job_id, offset, cap_bytes)
        except BaseException:
            os.close(fd)
            raise
        writer = _BodyWriter(fd, min(offset, size), cap_bytes, on_write)  # never leave a hole
        try:
            pending: list[bytes] = []
            pending_bytes = 0
            async for chunk in chunks:
                if writer.truncated or not chunk:
                    continue
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= WRITE_BYTES or len(pending) >= WRITE_PIECES:
                    await writer.write(pending)
                    pending, pending_bytes = [], 0
            await writer.write(pending, last=True)
            return max(size, writer.position), writer.truncated
        finally:
            writer.close()

    async def _reach(self, fd: int, job_id: str, offset: int, cap_bytes: int) -> int:
        """Wait until the log reaches ``offset`` (or the cap, past which nothing is kept); its size."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ahead_wait_s
        with self.growth(job_id) as grown:
            while True:
                if grown is not None:
                    grown.clear()
                size = os.fstat(fd).st_size
                if size >= offset or (cap_bytes and size >= cap_bytes):
                    return size
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Unavailable(
                        f"The log has {size} bytes; the upload of the bytes before offset {offset} "
                        "has not arrived. Repeat this upload after it."
                    )
                wait = min(remaining, AHEAD_POLL_S)
                if grown is None:
                    await asyncio.sleep(wait)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(grown.wait(), wait)

    def growth(self, job_id: str) -> contextlib.AbstractContextManager[asyncio.Event | None]:
        """An event set when a log of ``job_id`` grows in this process while the block runs, or
        None where there is none (the file is then polled)."""
        return contextlib.nullcontext()

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


def _open(path: Path) -> tuple[int, int]:
    """(fd, current size) of the log file, created if needed (and its directory)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    return fd, os.fstat(fd).st_size


async def _write_async(
    fd: int, pieces: list[bytes], position: int, cap_bytes: int, on_write: Callable[[], None] | None
) -> tuple[int, bool]:
    written = await anyio.to_thread.run_sync(_write_capped, fd, pieces, position, cap_bytes)
    if on_write is not None:
        on_write()
    return written


class _BodyWriter:
    """The writes of one streamed body, in order: on the event loop's thread while they are quick,
    then in a worker thread, one at a time, overlapped with receiving the next piece."""

    def __init__(self, fd: int, position: int, cap_bytes: int, on_write: Callable[[], None] | None) -> None:
        self.fd, self.position, self.cap_bytes, self.on_write = fd, position, cap_bytes, on_write
        self.truncated = False
        self._inline = True
        self._writing: asyncio.Task[tuple[int, bool]] | None = None

    async def write(self, pieces: list[bytes], *, last: bool = False) -> None:
        if self._writing is not None:
            (self.position, self.truncated), self._writing = await self._writing, None
        if self.truncated or not pieces:
            return
        if self._inline:
            (self.position, self.truncated), self._inline = _write_timed(
                self.fd, pieces, self.position, self.cap_bytes
            )
            if self.on_write is not None:
                self.on_write()
            return
        # in a thread; the write ends at position + its size unless the cap cuts it
        self._writing = asyncio.create_task(
            _write_async(self.fd, pieces, self.position, self.cap_bytes, self.on_write)
        )
        if last:
            (self.position, self.truncated), self._writing = await self._writing, None

    def close(self) -> None:
        if self._writing is None:
            os.close(self.fd)
        else:  # its thread may still be writing to fd (a body cut short): close it after
            self._writing.add_done_callback(functools.partial(_close_after, self.fd))


def _write_timed(
    fd: int, pieces: Sequence[bytes], position: int, cap_bytes: int
) -> tuple[tuple[int, bool], bool]:
    """:func:`_write_capped` on this thread; and whether it was quick enough to do so again."""
    started = time.perf_counter()
    written = _write_capped(fd, pieces, position, cap_bytes)
    return written, time.perf_counter() - started < INLINE_WRITE_MAX_S


def _close_after(fd: int, task: asyncio.Task[tuple[int, bool]]) -> None:
    os.close(fd)
    if not task.cancelled():
        task.exception()  # retrieved: the body's own error is the one reported


def _write_capped(fd: int, pieces: Sequence[bytes], position: int, cap_bytes: int) -> tuple[int, bool]:
    """Write ``pieces`` at ``position``, cut at ``cap_bytes`` (0: no cap); (end, truncated)."""
    size = sum(len(piece) for piece in pieces)
    if not cap_bytes or position + size <= cap_bytes:
        return _write_all(fd, pieces, position), False
    room = max(0, cap_bytes - position)
    kept: list[bytes | memoryview] = []
    for piece in pieces:
        if room <= 0:
            break
        kept.append(memoryview(piece)[:room] if len(piece) > room else piece)
        room -= len(kept[-1])
    return _write_all(fd, kept, position), True


def _write_all(fd: int, pieces: Sequence[bytes | memoryview], position: int) -> int:
    """pwritev until every piece is written (a regular file may take less than asked); the end."""
    left = list(pieces)
    while left:
        written = os.pwritev(fd, left, position)
        position += written
        while left and written >= len(left[0]):
            written -= len(left.pop(0))
        if written:
            left[0] = memoryview(left[0])[written:]
    return position
