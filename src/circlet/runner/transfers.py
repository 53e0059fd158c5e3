"""Storage calls of one task (caches, workspaces, artifacts, test results; see ``circlet.protocol``):
files streamed up and down in chunks, never read whole into memory, retried from the start on
connection errors, 5xx and 429. Every call is safe to repeat on the server side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from circlet.protocol import LEASE_HEADER
from circlet.runner.client import (
    HTTP_CONFLICT,
    HTTP_NO_CONTENT,
    HTTP_SERVER_ERROR,
    HTTP_TOO_MANY,
    RETRY_BACKOFF_MAX_S,
    Lease,
    LeaseLost,
    RunnerClient,
    RunnerClientError,
)

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024  # read and written per step of a transfer
TRANSFER_TIMEOUT_S = 120.0  # seconds without progress on one read or write

Params = Mapping[str, str | Sequence[str]]


class Transfers:
    """The storage calls of one leased task."""

    def __init__(self, client: RunnerClient, lease: Lease) -> None:
        self._http = client.http
        self._lease = lease
        self._attempts, self._backoff_s = client.retry_policy

    async def get_json(self, path: str, *, params: Params | None = None) -> Any:
        """GET a JSON answer; None for ``204 No Content``."""
        response = await self._retrying("GET", path, params=params)
        return None if response.status_code == HTTP_NO_CONTENT else response.json()

    async def upload(
        self,
        path: str,
        source: Path,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """PUT the file ``source`` as the body, streamed; returns the JSON answer."""
        size = await asyncio.to_thread(lambda: source.stat().st_size)
        all_headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
            **(headers or {}),
        }
        response = await self._retrying(
            "PUT", path, params=params, headers=all_headers, body=lambda: _read_chunks(source)
        )
        return response.json()

    async def download(self, path: str, dest: Path) -> httpx.Headers:
        """GET ``path`` into the file ``dest`` (replaced on every attempt); returns the response headers."""
        delay = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._http.stream(
                    "GET", self._url(path), headers=self._headers(), timeout=TRANSFER_TIMEOUT_S
                ) as response:
                    if response.is_success:
                        await _write_chunks(response.aiter_bytes(CHUNK_BYTES), dest)
                        return response.headers
                    if not _retryable(response.status_code) or attempt == self._attempts:
                        await response.aread()
                        _raise_for_status(response)
            except httpx.TransportError:
                if attempt == self._attempts:
                    raise
            logger.warning("download failed, retrying", extra={"action": "transfer_retry", "path": path})
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_BACKOFF_MAX_S)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _retrying(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        delay = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._http.request(
                    method,
                    self._url(path),
                    params=params,
                    headers=self._headers(headers),
                    content=body() if body is not None else None,
                    timeout=TRANSFER_TIMEOUT_S,
                )
            except httpx.TransportError:
                if attempt == self._attempts:
                    raise
            else:
                if not _retryable(response.status_code) or attempt == self._attempts:
                    _raise_for_status(response)
                    return response
            logger.warning("storage call failed, retrying", extra={"action": "transfer_retry", "path": path})
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_BACKOFF_MAX_S)
        raise AssertionError("unreachable")  # pragma: no cover

    def _url(self, path: str) -> str:
        return f"/tasks/{self._lease.task_id}{path}"

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {LEASE_HEADER: self._lease.lease_id, **(extra or {})}


async def _read_chunks(source: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(source.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


async def _write_chunks(chunks: AsyncIterator[bytes], dest: Path) -> None:
    handle = await asyncio.to_thread(dest.open, "wb")
    try:
        async for chunk in chunks:
            await asyncio.to_thread(handle.write, chunk)
    finally:
        await asyncio.to_thread(handle.close)


def _retryable(status_code: int) -> bool:
    return status_code >= HTTP_SERVER_ERROR or status_code == HTTP_TOO_MANY


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    message = f"HTTP {response.status_code} from {response.request.url.path}: {_message(response)}"
    if response.status_code == HTTP_CONFLICT:
        raise LeaseLost(message, status_code=response.status_code)
    raise RunnerClientError(message, status_code=response.status_code)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.text[:200]
