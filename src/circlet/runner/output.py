"""Step log upload: masks output, batches small writes for a moment and uploads them in order
with their byte offset, holding at most a few chunks in memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from circlet.runner.client import LeaseLost
from circlet.runner.masking import Masker

logger = logging.getLogger(__name__)

Upload = Callable[[int, bytes], Awaitable[None]]

BATCH_WINDOW_S = 0.15  # seconds a small write waits for more output before it is sent
BATCH_TARGET_BYTES = 4 * 1024 * 1024  # a batch this large is sent at once (one request, one commit)
QUEUE_CHUNKS = 32  # writes queued before ``write`` waits (backpressure on the child's pipe)
HOLD_MAX_BYTES = 64 * 1024  # a last batch up to this size can be kept back for the step's finish call


class StepOutput:
    """The output stream of one step.

    ``write`` queues masked bytes (waiting when the uploader falls behind); ``close`` sends what
    is left. An upload that keeps failing stops the uploads of this step but never the step;
    a lost lease is reported through ``on_lease_lost``. With ``hold_last``, a small last batch is not
    uploaded by ``close`` but kept for :meth:`take_held` (the caller sends it with the step's finish).
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
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)
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
            await self._queue.put(masked)

    async def write_line(self, text: str) -> None:
        await self.write(text.encode() + b"\n")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tail = self._masker.flush()
        if tail:
            await self._queue.put(tail)
        await self._queue.put(None)
        await self._pump

    async def abort(self) -> None:
        """Stop at once without sending what is queued (the task is being torn down)."""
        self._closed = True
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump

    async def _run(self) -> None:
        done = False
        while not done:
            first = await self._queue.get()
            if first is None:
                return
            batch, done = await self._collect([first])
            data = b"".join(batch)  # one allocation of the exact size
            if done and self._hold_last and not self._broken and len(data) <= HOLD_MAX_BYTES:
                self._held = data
                return
            await self._send(data)

    def take_held(self) -> tuple[int, bytes] | None:
        """(offset, bytes) of the last batch ``close`` kept back, now counted as sent; None if none."""
        if self._held is None:
            return None
        offset, data = self._offset, self._held
        self._held = None
        self._offset += len(data)
        return offset, data

    async def _collect(self, batch: list[bytes]) -> tuple[list[bytes], bool]:
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
                return batch, True
            batch.append(item)
            size += len(item)
        return batch, False

    async def _send(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            await self._upload(self._offset, data)
        except LeaseLost:
            self._broken = True
            if self._on_lease_lost is not None:
                self._on_lease_lost()
            return
        except Exception:
            self._broken = True
            logger.exception("step output upload failed; dropping the rest of this step's output")
            return
        self._offset += len(data)
