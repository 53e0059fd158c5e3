"""What ``engine.events`` calls when a job or workflow becomes final."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights.recording import JobRun, WorkflowRun, outcome_of, record_job_runs, record_workflow_runs
from circlet.model.pipelines import Job, Workflow
from circlet.model.statuses import JobType
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import workflows as workflow_store


async def job_finished(tx: AsyncSession, job: Job) -> None:
    """Count a job that ran; approvals, no-op jobs and jobs that never ran (not_run) are not job runs."""
    if job.type is not JobType.BUILD or outcome_of(job.status) is None:
        return
    workflow_name, branch = await _workflow_facts(tx, job)
    started = job.started_at or job.created_at
    run = JobRun(
        id=job.id,
        project_id=job.project_id,
        workflow_id=job.workflow_id,
        workflow_name=workflow_name,
        job_name=job.name,
        job_number=job.number,
        branch=branch,
        status=job.status,
        started_at=started,
        stopped_at=max(started, job.stopped_at or started),
    )
    await record_job_runs(tx, [run])


_FACTS_MAX = 1024  # workflows whose name and branch are kept
_facts: dict[str, tuple[str, str]] = {}


async def _workflow_facts(tx: AsyncSession, job: Job) -> tuple[str, str]:
    """(workflow name, pipeline branch) of a job's workflow. Both never change, so they are kept per
    workflow id: the other jobs of a workflow do not read them again."""
    facts = _facts.get(job.workflow_id)
    if facts is None:
        workflow = await workflow_store.get_workflow(tx, job.workflow_id)
        pipeline = await pipeline_store.get_pipeline(tx, job.pipeline_id)
        facts = (workflow.name, pipeline.branch or "")
        if len(_facts) >= _FACTS_MAX:
            _facts.clear()
        _facts[job.workflow_id] = facts
    return facts


async def workflow_finished(tx: AsyncSession, workflow: Workflow) -> None:
    if outcome_of(workflow.status) is None:
        return
    pipeline = await pipeline_store.get_pipeline(tx, workflow.pipeline_id)
    jobs = await job_store.list_workflow_jobs(tx, workflow.id, with_definition=False)
    run = WorkflowRun(
        id=workflow.id,
        project_id=workflow.project_id,
        workflow_name=workflow.name,
        branch=pipeline.branch or "",
        pipeline_number=workflow.pipeline_number,
        status=workflow.status,
        created_at=workflow.created_at,
        stopped_at=max(workflow.created_at, workflow.stopped_at or workflow.created_at),
        is_approval=any(j.type is JobType.APPROVAL for j in jobs),
    )
    await record_workflow_runs(tx, [run])
