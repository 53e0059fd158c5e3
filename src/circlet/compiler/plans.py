"""A compiled config's plan as JSON-ready data: which workflows and jobs a trigger runs, and why the
others do not. ``circlet config plan --json`` prints it; its shape is documented in docs/config.md
and only grows (new keys), so tools and the web UI can rely on it."""

from __future__ import annotations

from typing import Any

from circlet.model.configs import CompiledConfig, WorkflowJob, WorkflowPlan


def plan_as_dict(config: CompiledConfig) -> dict[str, Any]:
    """The plan of ``config`` as plain data (str, bool, int, None, lists and dicts only)."""
    return {
        "setup": config.setup,
        "parameters": dict(config.parameters),
        "workflows": [_workflow(flow) for flow in config.workflows],
    }


def _workflow(flow: WorkflowPlan) -> dict[str, Any]:
    return {
        "name": flow.name,
        "runs": flow.runs,
        "skip_reason": flow.skip_reason,
        "jobs": [_job(job, flow) for job in flow.jobs],
    }


def _job(job: WorkflowJob, flow: WorkflowPlan) -> dict[str, Any]:
    return {
        "name": job.name,
        "job": job.job,
        "type": job.type.value,
        "requires": list(job.requires),
        "contexts": list(job.contexts),
        "runs": job.runs and flow.runs,
        "skip_reason": job.skip_reason,
    }
