"""Step log upload: masks output, batches small writes for a moment and uploads them in order
with their byte offset. The bytes of a batch are streamed as the request body (never joined), and
at most about three batches are held: two in flight (with a server that takes an upload ahead of
the one before it; one otherwise) and the queue the next one comes from."""

from __future__ import annotations

import asyncio
import collections
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
AHEAD_IN_FLIGHT = 2  # uploads in flight at once when the server takes one ahead of the one before


class StepOutput:
    """The output stream of one step.

    ``write`` queues masked bytes, and waits while ``QUEUE_BYTES`` are queued (backpressure on the
    child's pipe: the step is slowed down, its output is never dropped); ``close`` sends what is
    left. The uploader sends one batch at a time while ``write`` keeps filling the queue. An upload
    that keeps failing stops the uploads of this step but never the step; a lost lease is reported
    through ``on_lease_lost``. With ``hold_last``, a small last batch is not uploaded by ``close``
    but kept for :meth:`take_held` (the caller sends it with the step's finish). With ``ahead``
    (the server's :data:`~circlet.protocol.FEATURE_OUTPUT_AHEAD`), the next batch is sent while
    the one before it is still in flight, which hides each request's round trip.
    """

    def __init__(
        self,
        upload: Upload,
        masker: Masker,
        *,
        on_lease_lost: Callable[[], None] | None = None,
        hold_last: bool = False,
        ahead: bool = False,
    ) -> None:
        self._upload = upload
        self._in_flight_max = AHEAD_IN_FLIGHT if ahead else 1
        self._in_flight: collections.deque[asyncio.Task[None]] = collections.deque()
        self._next_offset = 0  # where the next batch goes (past the batches in flight)
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
        try:
            done = False
            while not done:
                await self._settle(self._in_flight_max - 1)  # the queue fills meanwhile (bounded)
                first = await self._queue.get()
                if first is None:
                    break
                batch, size, done = await self._collect([self._taken(first)])
                if done and self._hold_last and size <= HOLD_MAX_BYTES:
                    await self._settle(0)
                    if not self._broken:
                        self._held = b"".join(batch)
                        return
                if self._broken:
                    continue  # the rest is read (the step never waits on us) and dropped
                offset, self._next_offset = self._next_offset, self._next_offset + size
                self._in_flight.append(asyncio.create_task(self._send(batch, size, offset)))
            await self._settle(0)
        finally:
            for sending in self._in_flight:
                sending.cancel()
            for sending in self._in_flight:
                with contextlib.suppress(asyncio.CancelledError):
                    await sending

    async def _settle(self, at_most: int) -> None:
        """Wait until at most ``at_most`` uploads are in flight, oldest first."""
        while len(self._in_flight) > at_most:
            await asyncio.wait({self._in_flight[0]})  # one cancelled by a failure does not raise here
            self._in_flight.popleft()

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

    async def _send(self, batch: list[bytes], size: int, offset: int) -> None:
        if self._broken:
            return
        try:
            await self._upload(offset, batch)
        except LeaseLost:
            self._break()
            if self._on_lease_lost is not None:
                self._on_lease_lost()
            return
        except Exception:
            if not self._broken:
                logger.exception("step output upload failed; dropping the rest of this step's output")
            self._break()
            return
        # an upload is answered once the bytes before it are in the log, so the log has these
        self._offset = max(self._offset, offset + size)

    def _break(self) -> None:
        """Stop uploading: the uploads after the one that failed could never land."""
        self._broken = True
        current = asyncio.current_task()
        for sending in self._in_flight:
            if sending is not current:
                sending.cancel()
