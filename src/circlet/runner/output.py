"""Step log upload: masks output, batches small writes for a moment and uploads them in order
with their byte offset. The bytes of a batch are streamed as the request body (never joined), and
at most about two batches are held: the one in flight and the queue the next one comes from."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from circlet.runner.client import LeaseLost
from circlet.runner.masking import Masker

logger = logging.getLogger(__name__)

Upload = Callable[[int, Sequence[bytes]], Awaitable[None]]

BATCH_WINDOW_S = 0.15  # seconds a small write waits for more output before it is sent
BATCH_TARGET_BYTES = 4 * 1024 * 1024  # a batch this large is sent at once (one request, one commit)
QUEUE_BYTES = 4 * 1024 * 1024  # bytes queued behind the batch in flight before ``write`` waits
HOLD_MAX_BYTES = 64 * 1024  # a last batch up to this size can be kept back for the step's finish call


class StepOutput:
    """The output stream of one step.

    ``write`` queues masked bytes, and waits while ``QUEUE_BYTES`` are queued (backpressure on the
    child's pipe: the step is slowed down, its output is never dropped); ``close`` sends what is
    left. The uploader sends one batch at a time while ``write`` keeps filling the queue. An upload
    that keeps failing stops the uploads of this step but never the step; a lost lease is reported
    through ``on_lease_lost``. With ``hold_last``, a small last batch is not uploaded by ``close``
    but kept for :meth:`take_held` (the caller sends it with the step's finish).
    """

    def __init__(
        self,
        upload: Upload,
        masker: Masker,
        *,
        on_lease_lost: Callable[[], None] | None = None,
        hold_last: bool = False,
    ) -> None:
        self._upload = upload
        self._hold_last = hold_last
        self._held: bytes | None = None
        self._masker = masker
        self._on_lease_lost = on_lease_lost
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queued_bytes = 0
        self._room = asyncio.Event()
        self._offset = 0
        self._broken = False
        self._closed = False
        self._pump = asyncio.create_task(self._run())

    @property
    def bytes_sent(self) -> int:
        return self._offset

    async def write(self, data: bytes) -> None:
        masked = self._masker.feed(data)
        if masked:
            await self._put(masked)

    async def write_line(self, text: str) -> None:
        await self.write(text.encode() + b"\n")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tail = self._masker.flush()
        if tail:
            await self._put(tail)
        self._queue.put_nowait(None)
        await self._pump

    async def abort(self) -> None:
        """Stop at once without sending what is queued (the task is being torn down)."""
        self._closed = True
        self._pump.cancel()
        self._room.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump

    def take_held(self) -> tuple[int, bytes] | None:
        """(offset, bytes) of the last batch ``close`` kept back, now counted as sent; None if none."""
        if self._held is None:
            return None
        offset, data = self._offset, self._held
        self._held = None
        self._offset += len(data)
        return offset, data

    async def _put(self, data: bytes) -> None:
        while self._queued_bytes >= QUEUE_BYTES and not self._pump.done():
            self._room.clear()
            await self._room.wait()
        self._queued_bytes += len(data)
        self._queue.put_nowait(data)

    def _taken(self, data: bytes) -> bytes:
        self._queued_bytes -= len(data)
        self._room.set()
        return data

    async def _run(self) -> None:
        done = False
        while not done:
            first = await self._queue.get()
            if first is None:
                return
            batch, size, done = await self._collect([self._taken(first)])
            if done and self._hold_last and not self._broken and size <= HOLD_MAX_BYTES:
                self._held = b"".join(batch)
                return
            await self._send(batch, size)

    async def _collect(self, batch: list[bytes]) -> tuple[list[bytes], int, bool]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BATCH_WINDOW_S
        size = len(batch[0])
        while size < BATCH_TARGET_BYTES:
            try:
                if self._queue.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                else:
                    item = self._queue.get_nowait()
            except TimeoutError:
                break
            if item is None:
                return batch, size, True
            batch.append(self._taken(item))
            size += len(item)
        return batch, size, False

    async def _send(self, batch: list[bytes], size: int) -> None:
        if self._broken:
            return
        try:
            await self._upload(self._offset, batch)
        except LeaseLost:
            self._broken = True
            if self._on_lease_lost is not None:
                self._on_lease_lost()
            return
        except Exception:
            self._broken = True
            logger.exception("step output upload failed; dropping the rest of this step's output")
            return
        self._offset += size
