"""What happens when a job or a workflow reaches a final status, in the same transaction.

These are explicit calls (no registry): each consumer (Insights rollups, the webhook outbox...) adds
its line here, so the order of side effects is visible in one place.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import continuation, webhooks
from circlet.insights import hooks as insights_hooks
from circlet.model.pipelines import Job, Workflow


async def job_finished(tx: AsyncSession, job: Job) -> None:
    """``job`` has just become final (success, failed, canceled, not_run, ...)."""
    await insights_hooks.job_finished(tx, job)
    await webhooks.job_completed(tx, job)


async def workflow_finished(tx: AsyncSession, workflow: Workflow) -> None:
    """``workflow`` has just become final."""
    await insights_hooks.workflow_finished(tx, workflow)
    await webhooks.workflow_completed(tx, workflow)
    await continuation.setup_workflow_finished(tx, workflow)
    # imported here: control imports this module (through progress), and reruns need control
    from circlet.engine import control

    await control.rerun_failed_workflow(tx, workflow)
