"""HTTP client for the runner protocol (``circlet.protocol``): one method per call, retries on
connection errors and 5xx for the calls that are safe to repeat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import httpx

from circlet.protocol import (
    LEASE_HEADER,
    ClaimRequest,
    HeartbeatResponse,
    StepFinish,
    StepStart,
    TaskAssignment,
    TaskFinish,
    TaskReport,
    TaskReportResponse,
)

logger = logging.getLogger(__name__)

API_PREFIX = "/runner/v1"
RETRY_ATTEMPTS = 6
RETRY_BACKOFF_S = 0.25  # seconds, doubled after each failed attempt
RETRY_BACKOFF_MAX_S = 5.0  # seconds
REQUEST_TIMEOUT_S = 30.0  # seconds, for every call but the long-poll claim
CLAIM_TIMEOUT_MARGIN_S = 15.0  # seconds added to the claim's wait_s
HTTP_NO_CONTENT = 204
HTTP_CONFLICT = 409
HTTP_TOO_MANY = 429
HTTP_SERVER_ERROR = 500


class RunnerClientError(Exception):
    """The server refused a runner call."""

    def __init__(self, message: str | None = None, *, status_code: int | None = None) -> None:
        super().__init__(message or self.__doc__)
        self.status_code = status_code


class LeaseLost(RunnerClientError):
    """The server no longer holds this runner's lease on the task (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """The identity of one claimed task, carried by every task call."""

    task_id: str
    lease_id: str


class RunnerClient:
    """Talks to ``/runner/v1`` with a runner token.

    Args:
        server_url: base URL of the circlet server, e.g. ``http://ci.example:8000``.
        token: the runner token, sent as ``Authorization: Bearer``.
        transport: an httpx transport; tests pass ``httpx.MockTransport``.
        retry_attempts: attempts per idempotent call before giving up.
        retry_backoff_s: first pause between attempts, doubled each time.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_attempts: int = RETRY_ATTEMPTS,
        retry_backoff_s: float = RETRY_BACKOFF_S,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=server_url.rstrip("/") + API_PREFIX,
            headers={"Authorization": f"Bearer {token}"},
            transport=transport,
            timeout=REQUEST_TIMEOUT_S,
        )
        self._retry_attempts = max(1, retry_attempts)
        self._retry_backoff_s = retry_backoff_s

    async def __aenter__(self) -> RunnerClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client (base URL and token set); ``circlet.runner.transfers`` streams through it."""
        return self._http

    @property
    def retry_policy(self) -> tuple[int, float]:
        """(attempts, first backoff in seconds) for calls that are safe to repeat."""
        return self._retry_attempts, self._retry_backoff_s

    async def claim(self, request: ClaimRequest) -> TaskAssignment | None:
        """Long-poll for a task; ``None`` when none arrived within ``wait_s``.

        Not retried here: a lost answer would strand a task until the lease reaper, so the
        caller decides how to back off.
        """
        timeout = request.get("wait_s", 0.0) + CLAIM_TIMEOUT_MARGIN_S
        response = await self._http.post("/claim", json=request, timeout=timeout)
        _raise_for_status(response)
        if response.status_code == HTTP_NO_CONTENT:
            return None
        return cast(TaskAssignment, response.json())

    async def heartbeat(self, lease: Lease) -> HeartbeatResponse:
        response = await self._task_call(lease, "/heartbeat", json={})
        return cast(HeartbeatResponse, response.json())

    async def start_step(self, lease: Lease, index: int, body: StepStart) -> None:
        await self._task_call(lease, f"/steps/{index}/start", json=body)

    async def upload_output(
        self, lease: Lease, index: int, offset: int, data: bytes | Sequence[bytes]
    ) -> None:
        """Append ``data`` (bytes, or pieces sent one after the other as one body, never joined) at
        byte ``offset`` of the step's log; a repeated upload is a no-op."""
        pieces = (data,) if isinstance(data, bytes) else tuple(data)
        size = sum(len(piece) for piece in pieces)
        await self._task_call(
            lease,
            f"/steps/{index}/output",
            content=pieces,
            params={"offset": offset},
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )

    async def finish_step(self, lease: Lease, index: int, body: StepFinish) -> None:
        await self._task_call(lease, f"/steps/{index}/finish", json=body)

    async def finish_task(self, lease: Lease, body: TaskFinish) -> None:
        await self._task_call(lease, "/finish", json=body)

    async def report(self, lease: Lease, body: TaskReport) -> TaskReportResponse:
        """Send step events, and maybe the task's finish and a claim of the next task, in one call.

        A claim is only sent with the first attempt: when that attempt's answer is lost, a retry
        without it cannot strand a second task (the one claimed is failed by the lease reaper)."""
        retry = {k: v for k, v in body.items() if k != "claim"}
        response = await self._task_call(lease, "/report", json=body, retry_json=retry)
        return cast(TaskReportResponse, response.json())

    async def _task_call(
        self,
        lease: Lease,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        retry_json: Mapping[str, Any] | None = None,
        content: tuple[bytes, ...] | None = None,
        params: Mapping[str, int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        url = f"/tasks/{lease.task_id}{path}"
        all_headers = {LEASE_HEADER: lease.lease_id, **(headers or {})}
        delay = self._retry_backoff_s
        for attempt in range(1, self._retry_attempts + 1):
            try:
                body = json if attempt == 1 or retry_json is None else retry_json
                response = await self._http.post(
                    url, json=body, content=_body(content), params=params, headers=all_headers
                )
            except httpx.TransportError as exc:
                if attempt == self._retry_attempts:
                    raise
                logger.warning(
                    "runner call failed, retrying: %s",
                    type(exc).__name__,
                    extra={"action": "runner_call_retry", "path": url},
                )
            else:
                if not _is_retryable(response.status_code) or attempt == self._retry_attempts:
                    _raise_for_status(response)
                    return response
                logger.warning(
                    "runner call got HTTP %s, retrying",
                    response.status_code,
                    extra={"action": "runner_call_retry", "path": url},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_BACKOFF_MAX_S)
        raise AssertionError("unreachable")  # pragma: no cover


def _body(pieces: tuple[bytes, ...] | None) -> bytes | AsyncIterator[bytes] | None:
    """A fresh body for each attempt: one piece as is, several streamed in turn (the caller sets
    Content-Length, so httpx does not switch to chunked encoding)."""
    if pieces is None or len(pieces) > 1:
        return None if pieces is None else _stream(pieces)
    return pieces[0]


async def _stream(pieces: tuple[bytes, ...]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def _is_retryable(status_code: int) -> bool:
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
