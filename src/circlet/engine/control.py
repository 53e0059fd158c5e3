"""Workflow and job control: approve an approval job, cancel a workflow or a job, rerun a workflow.

Every status change is a compare-and-set, so two approvals (or a cancel racing a runner's claim or
finish) cannot both win: the loser gets Conflict or finds the job already final.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access, events
from circlet.engine.progress import advance_workflow
from circlet.errors import BadRequest, Conflict, InvalidTransition, NotFound
from circlet.model.accounts import User
from circlet.model.pipelines import Job, Workflow
from circlet.model.statuses import JobStatus, JobType, WorkflowStatus
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import tasks as task_store
from circlet.store import workflows as workflow_store
from circlet.store._types import utcnow
from circlet.store.cancels import lock_tasks, retrying_deadlocks
from circlet.store.workflows import FINAL_WORKFLOW_STATUSES
from circlet.types import WorkflowId

log = logging.getLogger(__name__)

ACTIVE_JOB_STATUSES = frozenset({JobStatus.BLOCKED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.ON_HOLD})
CAS_ATTEMPTS = 3  #: re-reads of a workflow whose status a runner changed meanwhile


async def approve_job(tx: AsyncSession, user: User, workflow_id: str, approval_request_id: str) -> None:
    """Approve an ``on_hold`` approval job (by its approval request id or its job id) and move on.

    Raises:
        NotFound: no such workflow for this user (only org members see it), or no such approval job.
        Conflict: the job is not waiting for approval (e.g. it was approved concurrently).
    """
    workflow = await access.workflow_for(tx, user, workflow_id)
    jobs = await job_store.list_workflow_jobs(tx, workflow.id)
    job = next(
        (
            j
            for j in jobs
            if j.type is JobType.APPROVAL and approval_request_id in (j.approval_request_id, j.id)
        ),
        None,
    )
    if job is None:
        raise NotFound("Approval request not found.")
    try:
        await job_store.set_job_status(
            tx, job.id, expected=[JobStatus.ON_HOLD], new=JobStatus.SUCCESS, approved_by=user.id
        )
    except InvalidTransition:
        current = await job_store.get_job(tx, job.id)
        raise Conflict(f"Job {job.name} is not waiting for approval (it is {current.status}).") from None
    log.info("job approved", extra={"action": "job_approved", "job_id": job.id, "user_id": user.id})
    await events.job_finished(tx, await job_store.get_job(tx, job.id))
    await advance_workflow(tx, workflow.id)


async def cancel_workflow(tx: AsyncSession, user: User, workflow_id: str) -> None:
    """Cancel every job that has not finished and mark the workflow ``canceled`` by ``user``.

    Canceling a canceled workflow does nothing.

    Raises:
        NotFound: no such workflow for this user.
        Conflict: the workflow already finished otherwise (or kept changing under us).
    """
    workflow = await access.workflow_for(tx, user, workflow_id)

    async def cancel() -> None:
        current = await workflow_store.get_workflow(tx, workflow.id)
        if current.status is WorkflowStatus.CANCELED:
            return
        if current.status in FINAL_WORKFLOW_STATUSES:
            raise Conflict(f"Workflow {current.name} already finished ({current.status}).")
        active = [
            j for j in await job_store.list_workflow_jobs(tx, workflow.id) if j.status in ACTIVE_JOB_STATUSES
        ]
        # every task before any job row: runners lock a task, then its job (see cancel_job_now)
        await lock_tasks(tx, [j.id for j in active])
        for job in active:
            await cancel_job_now(tx, job, canceled_by=user.id)
        await _mark_workflow_canceled(tx, current, canceled_by=user.id)

    await retrying_deadlocks(tx, cancel)


async def _mark_workflow_canceled(tx: AsyncSession, workflow: Workflow, *, canceled_by: str) -> None:
    for _ in range(CAS_ATTEMPTS):
        if workflow.status in FINAL_WORKFLOW_STATUSES:
            return  # a runner's last job settled it in between
        try:
            await workflow_store.set_workflow_status(
                tx,
                workflow.id,
                expected=workflow.status,
                new=WorkflowStatus.CANCELED,
                canceled_by=canceled_by,
            )
        except InvalidTransition:
            workflow = await workflow_store.get_workflow(tx, workflow.id)
            continue
        await pipeline_store.touch_pipeline(tx, workflow.pipeline_id)
        await events.workflow_finished(tx, await workflow_store.get_workflow(tx, workflow.id))
        log.info("workflow canceled", extra={"action": "workflow_canceled", "workflow_id": workflow.id})
        return
    raise Conflict("The workflow changed while it was being canceled; try again.")


async def cancel_job(tx: AsyncSession, user: User, job_id: str) -> None:
    """Cancel one job; jobs that require it become ``not_run``. Canceling a canceled job does nothing.

    Raises:
        NotFound: no such job for this user.
        Conflict: the job already finished otherwise.
    """
    job = await access.job_for(tx, user, job_id)

    async def cancel() -> None:
        if not await cancel_job_now(tx, job, canceled_by=user.id):
            current = await job_store.get_job(tx, job.id)
            if current.status is not JobStatus.CANCELED:
                raise Conflict(f"Job {job.name} already finished ({current.status}).")
            return
        await advance_workflow(tx, job.workflow_id)

    await retrying_deadlocks(tx, cancel)


async def cancel_job_now(tx: AsyncSession, job: Job, *, canceled_by: str | None) -> bool:
    """Mark an unfinished job ``canceled`` at once; False when it was already final.

    Queued tasks are canceled so no runner claims them; running tasks get ``cancel_requested``, which
    their runner sees in its next heartbeat answer (it then kills the step's process group).

    Lock order: the job's tasks, then the job, as a runner's claim (task, then ``mark_job_running``) and
    finish (task, then ``settle_job``) take them; the other order deadlocks with a concurrent claim on
    PostgreSQL. Callers run this inside :func:`retrying_deadlocks` for the rarer cycles that remain.
    """
    await lock_tasks(tx, [job.id])
    try:
        await job_store.set_job_status(
            tx, job.id, expected=ACTIVE_JOB_STATUSES, new=JobStatus.CANCELED, canceled_by=canceled_by
        )
    except InvalidTransition:
        return False
    # The claim is a compare-and-set on the task's status too: either the runner took the task before
    # this (it is running and sees cancel_requested) or this cancels it and no runner ever gets it.
    for task in await task_store.list_tasks(tx, job.id):
        if task.status is JobStatus.QUEUED:
            await task_store.finish_task(tx, task.id, expected=JobStatus.QUEUED, status=JobStatus.CANCELED)
    await task_store.request_cancel(tx, job.id)
    await events.job_finished(tx, await job_store.get_job(tx, job.id))
    log.info("job canceled", extra={"action": "job_canceled", "job_id": job.id})
    return True


@dataclass(frozen=True, slots=True)
class RerunPlan:
    """Which of a workflow's jobs the rerun contains (in job number order), and which run again."""

    included: tuple[str, ...]
    reruns: frozenset[str]


def plan_rerun(
    jobs: Sequence[Job], *, from_failed: bool, selected: Sequence[str] | None, sparse_tree: bool
) -> RerunPlan:
    """Decide what a rerun runs again, as CircleCI does (pure).

    - nothing given: every job runs again;
    - ``from_failed``: jobs that did not succeed and everything downstream of them run again; jobs that
      succeeded are reused;
    - ``selected`` (job ids): those jobs and everything downstream run again, the others are reused;
      with ``sparse_tree`` the new workflow holds only the selected jobs.
    """
    names = [j.name for j in sorted(jobs, key=lambda j: (j.number is None, j.number or 0))]
    if from_failed and selected:
        raise BadRequest("from_failed and jobs cannot be used together.")
    if sparse_tree and not selected:
        raise BadRequest("sparse_tree needs jobs.")
    if selected:
        by_id: dict[str, str] = {j.id: j.name for j in jobs}
        unknown = [s for s in selected if s not in by_id]
        if unknown:
            raise BadRequest(f"Job {unknown[0]} is not a job of this workflow.")
        chosen = {by_id[s] for s in selected}
        if sparse_tree:
            return RerunPlan(tuple(n for n in names if n in chosen), frozenset(chosen))
        return RerunPlan(tuple(names), frozenset(_with_downstream(jobs, chosen)))
    if from_failed:
        failed = {j.name for j in jobs if j.status is not JobStatus.SUCCESS}
        if not failed:
            raise BadRequest("The workflow has no failed jobs to rerun.")
        return RerunPlan(tuple(names), frozenset(_with_downstream(jobs, failed)))
    return RerunPlan(tuple(names), frozenset(names))


def _with_downstream(jobs: Sequence[Job], roots: set[str]) -> set[str]:
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for job in jobs:
            if job.name not in found and found.intersection(job.requires):
                found.add(job.name)
                grew = True
    return found


async def rerun_workflow(
    tx: AsyncSession,
    user: User,
    workflow_id: str,
    *,
    from_failed: bool = False,
    jobs: list[str] | None = None,
    sparse_tree: bool = False,
) -> WorkflowId:
    """Create a new workflow in the same pipeline from the stored job definitions.

    Jobs that run again get new job numbers; reused jobs keep their result (and no number, since a
    number names one run). The new workflow records ``rerun_of``; the original keeps its history.

    Raises:
        NotFound: no such workflow for this user.
        Conflict: the workflow has not finished.
        BadRequest: options that do not fit together or do not name jobs of this workflow.
    """
    workflow = await access.workflow_for(tx, user, workflow_id)
    return await _rerun(
        tx, workflow, started_by=user.id, from_failed=from_failed, jobs=jobs, sparse_tree=sparse_tree
    )


async def rerun_failed_workflow(tx: AsyncSession, workflow: Workflow) -> WorkflowId | None:
    """Rerun ``workflow`` from failed by itself when it failed and has automatic reruns left
    (``max_auto_reruns``); the rerun has one fewer. Returns the new workflow's id, if any."""
    if workflow.status is not WorkflowStatus.FAILED or workflow.auto_reruns_left <= 0:
        return None
    try:
        new_id = await _rerun(
            tx,
            workflow,
            started_by=workflow.started_by,
            from_failed=True,
            auto_reruns_left=workflow.auto_reruns_left - 1,
        )
    except BadRequest:  # nothing failed that a rerun could repeat (e.g. only not_run jobs)
        return None
    log.info(
        "workflow rerun automatically",
        extra={"action": "workflow_auto_rerun", "workflow_id": new_id, "rerun_of": workflow.id},
    )
    return new_id


async def _rerun(
    tx: AsyncSession,
    workflow: Workflow,
    *,
    started_by: str | None,
    from_failed: bool = False,
    jobs: list[str] | None = None,
    sparse_tree: bool = False,
    auto_reruns_left: int = 0,
) -> WorkflowId:
    if workflow.status not in FINAL_WORKFLOW_STATUSES:
        raise Conflict(
            f"Workflow {workflow.name} is still {workflow.status}; cancel it or wait for it to finish."
        )
    old = await job_store.list_workflow_jobs(tx, workflow.id)
    plan = plan_rerun(old, from_failed=from_failed, selected=jobs, sparse_tree=sparse_tree)
    new_id = await workflow_store.create_workflow(
        tx,
        pipeline_id=workflow.pipeline_id,
        project_id=workflow.project_id,
        name=workflow.name,
        status=WorkflowStatus.RUNNING,
        started_by=started_by,
        tag=workflow.tag,
        rerun_of=workflow.id,
        auto_reruns_left=auto_reruns_left,
    )
    by_name = {j.name: j for j in old}
    builds = sum(by_name[n].type is JobType.BUILD for n in plan.reruns)
    numbers = iter(await project_store.take_job_numbers(tx, workflow.project_id, builds))
    now = utcnow()
    for name in plan.included:
        job = by_name[name]
        rerun = name in plan.reruns
        number = next(numbers) if rerun and job.type is JobType.BUILD else None
        copy_id = await _copy_job(tx, job, new_id, plan.included, number=number, created_at=now)
        if not rerun:
            await _reuse_result(tx, copy_id, job)
    await pipeline_store.touch_pipeline(tx, workflow.pipeline_id)
    await advance_workflow(tx, new_id)
    log.info(
        "workflow rerun", extra={"action": "workflow_rerun", "workflow_id": new_id, "rerun_of": workflow.id}
    )
    return new_id


async def _copy_job(
    tx: AsyncSession,
    job: Job,
    workflow_id: WorkflowId,
    included: Sequence[str],
    *,
    number: int | None,
    created_at: datetime,
) -> str:
    requires = [r for r in job.requires if r in included]
    statuses: Mapping[str, Sequence[str]] = {
        r: job.requires_statuses[r] for r in requires if r in job.requires_statuses
    }
    return await job_store.create_job(
        tx,
        workflow_id=workflow_id,
        pipeline_id=job.pipeline_id,
        project_id=job.project_id,
        number=number,
        name=job.name,
        type=job.type,
        status=JobStatus.BLOCKED,
        requires=requires,
        requires_statuses=statuses,
        contexts=job.contexts,
        definition=job.definition,
        resource_class=job.resource_class,
        parallelism=job.parallelism,
        created_at=created_at,
    )


async def _reuse_result(tx: AsyncSession, copy_id: str, job: Job) -> None:
    """Give a reused job its original final result (it does not run, and finishes no event again)."""
    source = f"job #{job.number}" if job.number is not None else f"approval {job.name}"
    await job_store.set_job_status(
        tx,
        copy_id,
        expected=[JobStatus.BLOCKED],
        new=job.status,
        queued_at=job.queued_at,
        started_at=job.started_at,
        stopped_at=job.stopped_at,
        approved_by=job.approved_by,
        message=f"Reused the result of {source} of workflow {job.workflow_id}.",
    )
