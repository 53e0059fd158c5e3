"""Domain values -> CircleCI API v2 JSON bodies (field names and nullability as the official spec)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from circlet.engine.slugs import LONG_NAMES
from circlet.errors import Problem
from circlet.model.accounts import Org, Project, User
from circlet.model.pipelines import Job, Pipeline, Task, Workflow
from circlet.model.statuses import JobType


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds and a ``Z``, as CircleCI writes times."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "login": user.login, "name": user.name}


def collaboration_json(org: Org) -> dict[str, Any]:
    return {
        "id": org.id,
        "vcs-type": LONG_NAMES.get(org.vcs_type, org.vcs_type),
        "name": org.name,
        "avatar_url": "",
        "slug": org.slug,
    }


def project_json(project: Project, base_url: str) -> dict[str, Any]:
    return {
        "slug": project.slug,
        "name": project.name,
        "id": project.id,
        "organization_name": project.org_name,
        "organization_slug": project.org_slug,
        "organization_id": project.org_id,
        "vcs_info": {
            "vcs_url": project.repo_url,
            "provider": _provider(project.vcs_type),
            "default_branch": project.default_branch,
        },
    }


def _provider(vcs_type: str) -> str:
    return {"gh": "GitHub", "bb": "Bitbucket", "circleci": "CircleCI"}.get(vcs_type, "GitHub")


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    vcs = dict(pipeline.vcs)
    body: dict[str, Any] = {
        "id": pipeline.id,
        "errors": [{"type": e["type"], "message": e["message"]} for e in pipeline.errors],
        "project_slug": pipeline.project_slug,
        "updated_at": iso(pipeline.updated_at),
        "number": pipeline.number,
        "trigger_parameters": dict(pipeline.trigger_parameters),
        "state": pipeline.state.value,
        "created_at": iso(pipeline.created_at),
        "trigger": {
            "type": pipeline.trigger_type,
            "received_at": iso(pipeline.trigger_received_at),
            "actor": {"login": pipeline.actor_login, "avatar_url": pipeline.actor_avatar_url},
        },
    }
    if vcs:
        body["vcs"] = vcs
    return body


def pipeline_created_json(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.id,
        "state": pipeline.state.value,
        "number": pipeline.number,
        "created_at": iso(pipeline.created_at),
    }


def compiled_config_json(source: str, output: str, problems: Sequence[Problem]) -> dict[str, Any]:
    """The body of ``compile-config-with-defaults``, as CircleCI answers it."""
    return {
        "valid": not problems,
        "errors": [{"message": str(p)} for p in problems],
        "output-yaml": output,
        "source-yaml": source,
    }


def workflow_json(workflow: Workflow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pipeline_id": workflow.pipeline_id,
        "id": workflow.id,
        "name": workflow.name,
        "project_slug": workflow.project_slug,
        "status": workflow.status.value,
        "started_by": workflow.started_by or "00000000-0000-0000-0000-000000000000",
        "pipeline_number": workflow.pipeline_number,
        "created_at": iso(workflow.created_at),
        "stopped_at": iso(workflow.stopped_at),
        "tag": workflow.tag,
    }
    if workflow.canceled_by:
        body["canceled_by"] = workflow.canceled_by
    if workflow.errored_by:
        body["errored_by"] = workflow.errored_by
    return body


def workflow_job_json(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dependencies": [],  # filled by the route with the ids of required jobs
        "id": job.id,
        "started_at": iso(job.started_at),
        "name": job.name,
        "project_slug": job.project_slug,
        "status": job.status.value,
        "type": "approval" if job.type is JobType.APPROVAL else "build",  # the spec has no "no-op"
        "stopped_at": iso(job.stopped_at),
    }
    if job.number is not None:
        body["job_number"] = job.number
    if job.type is JobType.APPROVAL and job.approval_request_id:
        body["approval_request_id"] = job.approval_request_id
    if job.approved_by:
        body["approved_by"] = job.approved_by
    if job.canceled_by:
        body["canceled_by"] = job.canceled_by
    if job.requires:
        body["requires"] = {name: list(job.requires_statuses.get(name, ["success"])) for name in job.requires}
    return body


def job_detail_json(
    job: Job, tasks: list[Task], project: Project, workflow: Workflow, base_url: str
) -> dict[str, Any]:
    started = job.started_at
    stopped = job.stopped_at
    duration = int((stopped - started).total_seconds() * 1000) if started and stopped else None
    return {
        "web_url": f"{base_url}/pipelines/{project.slug}/{workflow.pipeline_number}/workflows/{workflow.id}/jobs/{job.number}",
        "project": {
            "id": project.id,
            "slug": project.slug,
            "name": project.name,
            "external_url": project.repo_url,
        },
        "parallel_runs": [{"index": t.node_index, "status": t.status.value} for t in tasks],
        "started_at": iso(started) or iso(job.created_at),
        "latest_workflow": {"id": workflow.id, "name": workflow.name},
        "name": job.name,
        "executor": {
            "resource_class": job.resource_class or "medium",
            "type": job.definition.get("executor", {}).get("type", "docker"),
        },
        "parallelism": max(1, job.parallelism),
        "status": job.status.value,
        "number": job.number,
        "pipeline": {"id": job.pipeline_id},
        "duration": duration,
        "created_at": iso(job.created_at),
        "messages": [{"type": "info", "message": job.message}] if job.message else [],
        "contexts": [{"name": c} for c in job.contexts],
        "organization": {"name": project.org_name},
        "queued_at": iso(job.queued_at) or iso(job.created_at),
        "stopped_at": iso(stopped),
    }
