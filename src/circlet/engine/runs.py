"""What runners do, as use cases: claim a task, heartbeat, report steps and output, finish.

Every function runs in the caller's transaction and checks the task's lease, so a runner that lost
its lease (the reaper failed its task) cannot write into a job any more.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.environment import assignment_for
from circlet.engine.progress import mark_job_running, settle_job
from circlet.errors import BadRequest
from circlet.model.pipelines import Job, Task
from circlet.model.statuses import JobStatus, StepStatus
from circlet.protocol import StepFinish, StepStart, TaskAssignment, TaskReport
from circlet.store import accounts as account_store
from circlet.store import jobs as job_store
from circlet.store import runners as runner_store
from circlet.store import steps as step_store
from circlet.store import tasks as task_store
from circlet.store._types import utcnow
from circlet.store.logs import LogStore

log = logging.getLogger(__name__)

_TASK_RESULTS = {
    "success": JobStatus.SUCCESS,
    "failed": JobStatus.FAILED,
    "canceled": JobStatus.CANCELED,
    "timedout": JobStatus.TIMEDOUT,
    "infrastructure_fail": JobStatus.INFRASTRUCTURE_FAIL,
}


async def claim_task(
    tx: AsyncSession,
    *,
    token_id: str,
    resource_class: str,
    runner_name: str,
    lease_s: float,
    heartbeat_interval_s: float,
    max_runtime_s: float,
    base_url: str,
) -> TaskAssignment | None:
    """Lease the oldest queued task of the runner's class and describe it for the runner."""
    runner_id = await _runner_id(tx, token_id=token_id, name=runner_name, resource_class=resource_class)
    task = await task_store.claim_task(
        tx, resource_class=resource_class, runner_id=runner_id, runner_name=runner_name, lease_s=lease_s
    )
    if task is None:
        return None
    job = await job_store.get_job(tx, task.job_id)
    await mark_job_running(tx, job)
    log.info(
        "task claimed",
        extra={"action": "task_claimed", "job_id": job.id, "task_id": task.id, "runner": runner_name},
    )
    return await assignment_for(
        tx,
        job,
        task,
        lease_s=lease_s,
        heartbeat_interval_s=heartbeat_interval_s,
        max_runtime_s=max_runtime_s,
        base_url=base_url,
    )


RUNNER_SEEN_REFRESH_S = 5.0  # seconds between two writes of a runner's last_seen_at by its claims
_runners_seen: dict[tuple[str, str], tuple[float, str]] = {}


async def _runner_id(tx: AsyncSession, *, token_id: str, name: str, resource_class: str) -> str:
    """The runner's id; its ``last_seen_at`` is written at most every ``RUNNER_SEEN_REFRESH_S`` (a busy
    runner claims many times a second)."""
    now = time.monotonic()
    seen = _runners_seen.get((token_id, name))
    if seen is not None and now - seen[0] < RUNNER_SEEN_REFRESH_S:
        return seen[1]
    runner_id = await runner_store.register_runner(
        tx, token_id=token_id, name=name, resource_class=resource_class
    )
    if len(_runners_seen) >= _RUNNER_IDENTITY_CACHE_MAX:
        _runners_seen.clear()
    _runners_seen[(token_id, name)] = (now, runner_id)
    return runner_id


async def heartbeat(tx: AsyncSession, task_id: str, lease_id: str, *, lease_s: float) -> bool:
    """Extend the lease; True when the job was canceled and the runner must stop."""
    return await task_store.renew_lease(tx, task_id, lease_id, lease_s=lease_s)


async def start_step(tx: AsyncSession, task_id: str, lease_id: str, step_index: int, body: StepStart) -> None:
    task = await task_store.leased_task(tx, task_id, lease_id)
    job = await job_store.get_job(tx, task.job_id)
    await step_store.start_step(
        tx,
        task_id=task.id,
        job_id=task.job_id,
        node_index=task.node_index,
        step_index=step_index,
        name=body["name"],
        type=_step_type(job, step_index),
        started_at=_parse_time(body["started_at"]),
    )


def _step_type(job: Job, step_index: int) -> str:
    steps = job.definition.get("steps", [])
    return str(steps[step_index]["type"]) if 0 <= step_index < len(steps) else "run"


async def report_task(
    tx: AsyncSession, task_id: str, lease_id: str, report: TaskReport, *, logs: LogStore, cap_bytes: int = 0
) -> bool:
    """Apply a runner's batched report in order: step starts and finishes, then the task's finish.
    Returns whether the job was canceled (the runner must stop)."""
    task = await task_store.leased_task(tx, task_id, lease_id)
    job: Job | None = None
    writes: list[_OutputWrite] = []
    try:
        for step in report["steps"]:
            index, start, finish = step["index"], step.get("start"), step.get("finish")
            if start is not None:
                job = job or await job_store.get_job(tx, task.job_id)
                if finish is not None:
                    await _record_quick_step(
                        tx, logs, task, job, index, start, finish, cap_bytes=cap_bytes, writes=writes
                    )
                    continue
                await _start(tx, task, job, index, start)
            if finish is not None:
                await _finish_step(tx, logs, task, index, finish, cap_bytes=cap_bytes)
        if "finish" in report:
            await _finish_task(tx, task, report["finish"]["status"], job=job)
    finally:
        results = await asyncio.gather(*(w.written for w in writes), return_exceptions=True)
    for write, result in zip(writes, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        if result != write.expected:  # a retried report found more output in the file than it sent
            await record_output_size(tx, task, write.step_index, size=result[0], truncated=result[1])
    return task.cancel_requested


@dataclass(frozen=True, slots=True)
class _OutputWrite:
    """A quick step's output being written in a worker thread while the report's statements run."""

    step_index: int
    written: asyncio.Future[tuple[int, bool]]
    expected: tuple[int, bool]  #: (size, truncated) recorded in the step's row


async def _start(tx: AsyncSession, task: Task, job: Job, index: int, body: StepStart) -> None:
    await step_store.start_step(
        tx,
        task_id=task.id,
        job_id=task.job_id,
        node_index=task.node_index,
        step_index=index,
        name=body["name"],
        type=_step_type(job, index),
        started_at=_parse_time(body["started_at"]),
    )


async def _record_quick_step(
    tx: AsyncSession,
    logs: LogStore,
    task: Task,
    job: Job,
    index: int,
    start: StepStart,
    finish: StepFinish,
    *,
    cap_bytes: int,
    writes: list[_OutputWrite],
) -> None:
    """A step whose start and finish arrive together: one row written once, with its output size.

    Its output (a few KiB at most) is written to its log file in a worker thread, started here and
    awaited at the end of the report: making the file is the dearest part, and it overlaps the
    report's statements. The row records the size the file will have (the offset plus the bytes
    sent); the report corrects it in the rare case it differs."""
    size, truncated = 0, False
    if "output" in finish:
        offset = finish.get("output_offset", 0)
        if offset < 0:
            raise BadRequest("A negative output offset is not valid.")
        data = _decode(finish["output"])
        append = logs.append(
            task.job_id, task.node_index, index, offset=offset, data=data, cap_bytes=cap_bytes, in_thread=True
        )
        if cap_bytes and offset + len(data) > cap_bytes:
            size, truncated = await append  # cut at the cap: the size is only known once written
        else:
            size = offset + len(data)
            writes.append(_OutputWrite(index, asyncio.ensure_future(append), (size, False)))
    await step_store.record_step(
        tx,
        task_id=task.id,
        job_id=task.job_id,
        node_index=task.node_index,
        step_index=index,
        name=start["name"],
        type=_step_type(job, index),
        started_at=_parse_time(start["started_at"]),
        status=StepStatus(finish["status"]),
        exit_code=finish.get("exit_code"),
        ended_at=_parse_time(finish["ended_at"]),
        output_bytes=size,
        truncated=truncated,
    )


async def output_task(tx: AsyncSession, task_id: str, lease_id: str) -> Task:
    """The task a runner sends step output for; raises Conflict when its lease is gone."""
    return await task_store.leased_task(tx, task_id, lease_id)


async def record_output_size(
    tx: AsyncSession, task: Task, step_index: int, *, size: int, truncated: bool, grow_only: bool = False
) -> None:
    """Record the stored size of a step's output after its bytes were written (``grow_only``: for
    an upload, which may be answered after a later one)."""
    await step_store.set_output_size(
        tx, task_id=task.id, step_index=step_index, size=size, truncated=truncated, grow_only=grow_only
    )


async def _store_output(
    logs: LogStore, task: Task, step_index: int, *, offset: int, data: bytes, cap_bytes: int
) -> tuple[int, bool]:
    if offset < 0:
        raise BadRequest("A negative output offset is not valid.")
    return await logs.append(
        task.job_id, task.node_index, step_index, offset=offset, data=data, cap_bytes=cap_bytes
    )


def _decode(output: str) -> bytes:
    try:
        return base64.b64decode(output, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("A step's output must be base64.") from exc


async def finish_step(
    tx: AsyncSession,
    task_id: str,
    lease_id: str,
    step_index: int,
    body: StepFinish,
    *,
    logs: LogStore | None = None,
    cap_bytes: int = 0,
) -> None:
    """End a step; ``body`` may carry the step's last output chunk, stored first (needs ``logs``)."""
    task = await task_store.leased_task(tx, task_id, lease_id)
    await _finish_step(tx, logs, task, step_index, body, cap_bytes=cap_bytes)


async def _finish_step(
    tx: AsyncSession, logs: LogStore | None, task: Task, step_index: int, body: StepFinish, *, cap_bytes: int
) -> None:
    """With ``logs``, the step's final output size is recorded too (a running step's is throttled)."""
    size: int | None = None
    truncated = False
    if "output" in body and logs is not None:
        size, truncated = await _store_output(
            logs,
            task,
            step_index,
            offset=body.get("output_offset", 0),
            data=_decode(body["output"]),
            cap_bytes=cap_bytes,
        )
    elif logs is not None:
        size = logs.size(task.job_id, task.node_index, step_index)
    await step_store.finish_step(
        tx,
        task_id=task.id,
        step_index=step_index,
        status=StepStatus(body["status"]),
        exit_code=body.get("exit_code"),
        ended_at=_parse_time(body["ended_at"]),
        output_bytes=size,
        truncated=truncated,
    )


async def finish_task(tx: AsyncSession, task_id: str, lease_id: str, result: str) -> None:
    """Record a task's result and move its job and workflow on."""
    task = await task_store.leased_task(tx, task_id, lease_id)
    await _finish_task(tx, task, result)


async def _finish_task(tx: AsyncSession, task: Task, result: str, *, job: Job | None = None) -> None:
    if result not in _TASK_RESULTS:
        raise BadRequest(f"Unknown task status {result!r}.")
    status = _TASK_RESULTS[result]
    if await task_store.finish_task(tx, task.id, expected=JobStatus.RUNNING, status=status):
        await step_store.finish_running_steps(tx, task.id, status=StepStatus.CANCELED, ended_at=utcnow())
        await settle_job(tx, task.job_id, job=job)


async def reap_stale_tasks(tx: AsyncSession, *, now: datetime | None = None) -> int:
    """Fail the tasks whose runner stopped heartbeating (``infrastructure_fail``). Returns how many."""
    expired = await task_store.expired_tasks(tx, now or utcnow())
    for task in expired:
        if await task_store.finish_task(
            tx, task.id, expected=JobStatus.RUNNING, status=JobStatus.INFRASTRUCTURE_FAIL
        ):
            log.warning(
                "runner lost", extra={"action": "task_reaped", "task_id": task.id, "job_id": task.job_id}
            )
            await step_store.finish_running_steps(tx, task.id, status=StepStatus.FAILED, ended_at=utcnow())
            await settle_job(tx, task.job_id)
    return len(expired)


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"Invalid timestamp {value!r}.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


RUNNER_IDENTITY_TTL_S = 2.0  # seconds a runner token's identity is reused before it is read again
_RUNNER_IDENTITY_CACHE_MAX = 256
_runner_identities: dict[str, tuple[float, tuple[str, str]]] = {}


async def runner_identity(tx: AsyncSession, token: str) -> tuple[str, str] | None:
    """(token id, resource class) for a runner token, or None.

    A runner makes several calls per step, so a known token's identity is kept for
    ``RUNNER_IDENTITY_TTL_S``: a token deleted by another process stops working within that time (one
    deleted through :func:`forget_runner_identities` in this process, at once). Unknown tokens are
    never kept.
    """
    now = time.monotonic()
    cached = _runner_identities.get(token)
    if cached is not None and cached[0] > now:
        return cached[1]
    identity = await account_store.runner_token_class(tx, token)
    if identity is None:
        _runner_identities.pop(token, None)
        return None
    if len(_runner_identities) >= _RUNNER_IDENTITY_CACHE_MAX:
        _runner_identities.clear()
    _runner_identities[token] = (now + RUNNER_IDENTITY_TTL_S, identity)
    return identity


def forget_runner_identities() -> None:
    """Drop every kept runner identity and runner id (after runner tokens were deleted)."""
    _runner_identities.clear()
    _runners_seen.clear()
