"""RunnerClient against httpx.MockTransport: headers, retries, errors."""

from __future__ import annotations

import json

import httpx
import pytest

from circlet.protocol import LEASE_HEADER
from circlet.runner.client import Lease, LeaseLost, RunnerClient, RunnerClientError

LEASE = Lease("t1", "l1")


def client_for(handler: httpx.MockTransport) -> RunnerClient:
    return RunnerClient("http://ci.test/", "tok", transport=handler, retry_backoff_s=0.001)


async def test_claim_sends_request_and_reads_assignment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"task_id": "t1"})

    async with client_for(httpx.MockTransport(handler)) as client:
        assignment = await client.claim({"resource_class": "a/b", "runner_name": "r", "wait_s": 1.0})
    assert assignment is not None and assignment["task_id"] == "t1"
    assert seen[0].url == "http://ci.test/runner/v1/claim"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == {"resource_class": "a/b", "runner_name": "r", "wait_s": 1.0}


async def test_claim_without_work_returns_none() -> None:
    async with client_for(httpx.MockTransport(lambda _: httpx.Response(204))) as client:
        assert await client.claim({"resource_class": "a/b", "runner_name": "r"}) is None


async def test_claim_is_not_retried() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503)

    async with client_for(httpx.MockTransport(handler)) as client:
        with pytest.raises(RunnerClientError) as info:
            await client.claim({"resource_class": "a/b", "runner_name": "r"})
    assert info.value.status_code == 503
    assert len(calls) == 1


async def test_output_upload_carries_offset_lease_and_raw_bytes() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with client_for(httpx.MockTransport(handler)) as client:
        await client.upload_output(LEASE, 2, 4096, b"\x00bytes")
    request = seen[0]
    assert request.url.path == "/runner/v1/tasks/t1/steps/2/output"
    assert request.url.params["offset"] == "4096"
    assert request.headers[LEASE_HEADER] == "l1"
    assert request.content == b"\x00bytes"


async def test_task_calls_retry_on_5xx_and_connection_errors() -> None:
    answers: list[httpx.Response | Exception] = [
        httpx.ConnectError("down"),
        httpx.Response(502),
        httpx.Response(200, json={"cancel": True}),
    ]

    def handler(_: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with client_for(httpx.MockTransport(handler)) as client:
        assert await client.heartbeat(LEASE) == {"cancel": True}
    assert answers == []


async def test_task_calls_give_up_after_the_retry_budget() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"message": "boom"})

    async with RunnerClient(
        "http://ci.test", "tok", transport=httpx.MockTransport(handler), retry_attempts=3, retry_backoff_s=0
    ) as client:
        with pytest.raises(RunnerClientError, match="boom"):
            await client.finish_task(LEASE, {"status": "success"})
    assert len(calls) == 3


async def test_conflict_means_the_lease_is_lost() -> None:
    async with client_for(
        httpx.MockTransport(lambda _: httpx.Response(409, json={"message": "stale"}))
    ) as client:
        with pytest.raises(LeaseLost, match="stale"):
            await client.start_step(LEASE, 0, {"name": "x", "started_at": "2024-01-01T00:00:00Z"})


async def test_client_errors_are_not_retried() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, text="bad")

    async with client_for(httpx.MockTransport(handler)) as client:
        with pytest.raises(RunnerClientError, match="bad"):
            await client.finish_step(LEASE, 0, {"status": "success", "exit_code": 0, "ended_at": "x"})
    assert len(calls) == 1
