"""Moving a workflow forward: unblock jobs, queue their tasks, fold statuses upward."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import contexts, events
from circlet.engine.transitions import JobState, fold_tasks, sources_of, unblocked, workflow_status
from circlet.errors import InvalidTransition
from circlet.model.pipelines import Job
from circlet.model.statuses import JobStatus, JobType, WorkflowStatus
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import tasks as task_store
from circlet.store import workflows as workflow_store
from circlet.store._types import utcnow
from circlet.store.notify import notify_queue
from circlet.store.workflows import FINAL_WORKFLOW_STATUSES


async def queue_job(tx: AsyncSession, job: Job) -> bool:
    """Create the job's tasks (one per parallel node) and wake runners of its class.

    A job naming a context it may not use is not queued: it becomes ``unauthorized`` (returns False).
    """
    reason = await contexts.refusal(tx, job)
    if reason is not None:
        await job_store.set_job_status(
            tx, job.id, expected=[JobStatus.QUEUED], new=JobStatus.UNAUTHORIZED, message=reason
        )
        await events.job_finished(tx, await job_store.get_job(tx, job.id))
        return False
    await task_store.create_tasks(
        tx, job.id, count=max(1, job.parallelism), resource_class=job.resource_class
    )
    await notify_queue(tx, job.resource_class)
    return True


async def advance_workflow(tx: AsyncSession, workflow_id: str) -> WorkflowStatus:
    """Unblock what can run, then recompute and store the workflow's status.

    The workflow's row is locked first: transactions moving the same workflow on (two of its jobs
    finishing at once) take turns, and each decides on what the one before it committed.
    """
    await workflow_store.lock_workflow(tx, workflow_id)
    settled_more = True
    changed = False
    while settled_more:  # a job refused at queueing is final at once: its dependents settle next round
        settled_more = False
        jobs = await job_store.list_workflow_jobs(tx, workflow_id, with_definition=False)
        states = [JobState(j.name, j.type, j.status, j.requires, j.requires_statuses) for j in jobs]
        by_name = {j.name: j for j in jobs}
        moves = unblocked(states)
        changed = bool(moves)
        for name, new in moves.items():
            job = by_name[name]
            await job_store.set_job_status(tx, job.id, expected=[JobStatus.BLOCKED], new=new)
            if new is JobStatus.QUEUED:
                settled_more |= not await queue_job(tx, job)
            elif new.is_final:
                await events.job_finished(tx, await job_store.get_job(tx, job.id))
    if changed:  # statuses moved in the last round: read them again
        jobs = await job_store.list_workflow_jobs(tx, workflow_id, with_definition=False)
    return await _store_workflow_status(tx, workflow_id, [j.status for j in jobs])


async def _store_workflow_status(
    tx: AsyncSession, workflow_id: str, statuses: list[JobStatus]
) -> WorkflowStatus:
    workflow = await workflow_store.get_workflow(tx, workflow_id)
    new = workflow_status(statuses)
    if workflow.status in FINAL_WORKFLOW_STATUSES or new is workflow.status:
        return workflow.status
    if new not in FINAL_WORKFLOW_STATUSES:
        await workflow_store.set_workflow_status(tx, workflow_id, expected=workflow.status, new=new)
        await pipeline_store.touch_pipeline(tx, workflow.pipeline_id)
        return new
    stopped_at = utcnow()
    await workflow_store.set_workflow_status(
        tx, workflow_id, expected=workflow.status, new=new, stopped_at=stopped_at
    )
    await pipeline_store.touch_pipeline(tx, workflow.pipeline_id)
    await events.workflow_finished(tx, replace(workflow, status=new, stopped_at=stopped_at))
    return new


async def settle_job(tx: AsyncSession, job_id: str, *, job: Job | None = None) -> None:
    """Fold a job's tasks into its status once all are final, then advance its workflow. ``job``, when
    the caller read it in this transaction, is not read again."""
    await workflow_store.lock_job_workflow(tx, job_id)
    tasks = await task_store.list_tasks(tx, job_id)
    final = fold_tasks([t.status for t in tasks])
    if final is None:
        return
    try:
        written = await job_store.set_job_status(
            tx, job_id, expected=sources_of(final) & {JobStatus.QUEUED, JobStatus.RUNNING}, new=final
        )
    except InvalidTransition:
        return  # already final (e.g. canceled while its runner was still finishing)
    if job is None:
        job = await job_store.get_job(tx, job_id)
    else:
        job = replace(job, status=final, **written)
    await events.job_finished(tx, job)
    await advance_workflow(tx, job.workflow_id)


async def mark_job_running(tx: AsyncSession, job: Job) -> None:
    if job.status is JobStatus.QUEUED:
        try:
            await job_store.set_job_status(tx, job.id, expected=[JobStatus.QUEUED], new=JobStatus.RUNNING)
        except InvalidTransition:
            return


def is_approval(job: Job) -> bool:
    return job.type is JobType.APPROVAL
