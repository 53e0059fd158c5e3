"""The runner protocol (``/runner/v1``); see ``circlet.protocol`` for the exchange."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from circlet.api.deps import (
    ConfigDep,
    LogsDep,
    ServerConfig,
    StoreDep,
    TxDep,
    get_config,
    get_logs,
    get_store,
)
from circlet.api.routes.live import WatchDep, get_watch
from circlet.engine import live, runs
from circlet.errors import BadRequest, Forbidden, Unauthorized
from circlet.protocol import (
    LEASE_HEADER,
    ClaimRequest,
    StepFinish,
    StepStart,
    TaskAssignment,
    TaskFinish,
    TaskReport,
)

router = APIRouter(prefix="/runner/v1", tags=["Runner"])

MAX_CLAIM_WAIT_S = 30.0  # seconds


async def runner_identity(request: Request, tx: TxDep) -> tuple[str, str]:
    """(token id, resource class) of the calling runner."""
    identity = await runs.runner_identity(tx, runner_token(request))
    if identity is None:
        raise Unauthorized("Invalid runner token.")
    return identity


def runner_token(request: Request) -> str:
    """The runner token of the call (not checked here)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A runner token is required.")
    return token.strip()


async def get_sizes(request: Request) -> live.SizeRecords:
    sizes: live.SizeRecords = request.app.state.output_sizes
    return sizes


async def get_leases(request: Request) -> live.OutputLeases:
    leases: live.OutputLeases = request.app.state.output_leases
    return leases


RunnerDep = Annotated[tuple[str, str], Depends(runner_identity)]
SizesDep = Annotated[live.SizeRecords, Depends(get_sizes)]
LeasesDep = Annotated[live.OutputLeases, Depends(get_leases)]
LeaseDep = Annotated[str, Header(alias=LEASE_HEADER)]


@router.post("/claim", response_model=None)
async def claim(body: ClaimRequest, request: Request, store: StoreDep, config: ConfigDep) -> Any:
    async with store.transaction() as tx:
        token_id, resource_class = await runner_identity(request, tx)
    if body["resource_class"] != resource_class:
        raise Forbidden(f"This runner token is for resource class {resource_class!r}.")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(max(float(body.get("wait_s", 0.0)), 0.0), MAX_CLAIM_WAIT_S)
    while True:
        woken = store.waker.event(resource_class)  # taken before the claim so no wake-up is lost
        if await request.is_disconnected():
            return Response(status_code=204)
        async with store.transaction() as tx:
            assignment = await _claim(tx, config, token_id, resource_class, body["runner_name"])
        if assignment is not None:
            return assignment
        remaining = deadline - loop.time()
        if remaining <= 0 or store.waker.stopped:
            return Response(status_code=204)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), min(remaining, 5.0))


async def _claim(
    tx: TxDep, config: ServerConfig, token_id: str, resource_class: str, runner_name: str
) -> TaskAssignment | None:
    """Lease the next task of ``resource_class`` to the calling runner, with the server's limits."""
    return await runs.claim_task(
        tx,
        token_id=token_id,
        resource_class=resource_class,
        runner_name=runner_name,
        lease_s=config.runner_lease_s,
        heartbeat_interval_s=config.runner_heartbeat_interval_s,
        max_runtime_s=config.max_job_runtime_s,
        base_url=config.base_url,
    )


@router.post("/tasks/{task_id}/heartbeat")
async def heartbeat(
    task_id: str, lease: LeaseDep, tx: TxDep, _runner: RunnerDep, config: ConfigDep
) -> dict[str, Any]:
    return {"cancel": await runs.heartbeat(tx, task_id, lease, lease_s=config.runner_lease_s)}


@router.post("/tasks/{task_id}/steps/{index}/start")
async def start_step(
    task_id: str, index: int, body: StepStart, lease: LeaseDep, tx: TxDep, _runner: RunnerDep
) -> dict[str, Any]:
    await runs.start_step(tx, task_id, lease, index, body)
    return {}


@router.post("/tasks/{task_id}/steps/{index}/output")
async def step_output(
    task_id: str,
    index: int,
    request: Request,
    lease: LeaseDep,
    store: StoreDep,
    logs: LogsDep,
    config: ConfigDep,
    sizes: SizesDep,
    leases: LeasesDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The body is written to the log as it arrives; no transaction is open while bytes move, the
    lease is read at most every second or so (``OutputLeases``), and so is the stored size recorded
    (``SizeRecords``)."""
    token = runner_token(request)
    task = leases.get(token, task_id, lease)
    if task is None:
        async with store.transaction() as tx:
            await runner_identity(request, tx)
            task = await runs.output_task(tx, task_id, lease)
        leases.put(token, lease, task)
    size, truncated = await logs.receive(
        task.job_id,
        task.node_index,
        index,
        offset=offset,
        chunks=request.stream(),
        cap_bytes=config.log_cap_bytes,
    )
    if sizes.due(task.id, index, truncated=truncated):
        async with store.transaction() as tx:
            await runs.record_output_size(tx, task, index, size=size, truncated=truncated, grow_only=True)
    return {"size": size}


@router.post("/tasks/{task_id}/steps/{index}/finish")
async def finish_step(
    task_id: str,
    index: int,
    body: StepFinish,
    lease: LeaseDep,
    tx: TxDep,
    _runner: RunnerDep,
    watch: WatchDep,
    logs: LogsDep,
    config: ConfigDep,
) -> dict[str, Any]:
    await runs.finish_step(tx, task_id, lease, index, body, logs=logs, cap_bytes=config.log_cap_bytes)
    live.wake_after_commit(tx, watch, task_id)  # readers following the step see it end
    return {}


@router.post("/tasks/{task_id}/finish")
async def finish_task(
    task_id: str, body: TaskFinish, lease: LeaseDep, tx: TxDep, _runner: RunnerDep, watch: WatchDep
) -> dict[str, Any]:
    await runs.finish_task(tx, task_id, lease, body["status"])
    live.wake_after_commit(tx, watch, task_id)
    return {}


async def report_task(request: Request) -> Response:
    """``POST /tasks/{task_id}/report`` (:class:`TaskReport` -> :class:`TaskReportResponse`).

    The call every finished task makes, so it is a plain Starlette endpoint: the body is validated
    by one pydantic adapter and the response written as JSON bytes, without FastAPI's per-request
    dependency solving and response serialization (a third of this call's cost when it was a
    FastAPI route). Errors are the same: 400 with ``{"message"}`` for a bad body, 401/403/409 as
    for the other task calls."""
    task_id = request.path_params["task_id"]
    lease = request.headers.get(LEASE_HEADER)
    if not lease:
        raise BadRequest(f"The {LEASE_HEADER} header is required.")
    try:
        body = _REPORT.validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    store, config = await get_store(request), await get_config(request)
    async with store.transaction() as tx:
        token_id, resource_class = await runner_identity(request, tx)
        claim_next = body.get("claim") if "finish" in body else None
        if claim_next is not None and claim_next["resource_class"] != resource_class:
            raise Forbidden(f"This runner token is for resource class {resource_class!r}.")
        cancel = await runs.report_task(
            tx, task_id, lease, body, logs=await get_logs(request), cap_bytes=config.log_cap_bytes
        )
        if "finish" in body or any("finish" in step for step in body["steps"]):
            live.wake_after_commit(tx, await get_watch(request), task_id)
        response: dict[str, Any] = {"cancel": cancel}
        if claim_next is not None:
            response["next"] = await _claim(tx, config, token_id, resource_class, claim_next["runner_name"])
    return Response(json.dumps(response, separators=(",", ":")), media_type="application/json")


_REPORT: TypeAdapter[TaskReport] = TypeAdapter(TaskReport)
router.add_route(f"{router.prefix}/tasks/{{task_id}}/report", report_task, methods=["POST"])
