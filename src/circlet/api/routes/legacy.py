"""The v1.1 job details and step output that many tools still read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from circlet.api.deps import ConfigDep, CurrentUser, LogsDep, TxDep
from circlet.api.views import iso
from circlet.engine import access, legacy

router = APIRouter(tags=["v1.1"])

_V1_STATUS = {
    "queued": "queued",
    "blocked": "not_running",
    "running": "running",
    "success": "success",
    "failed": "failed",
    "canceled": "canceled",
    "not_run": "not_run",
    "timedout": "timedout",
    "infrastructure_fail": "infrastructure_fail",
    "on_hold": "on_hold",
    "unauthorized": "unauthorized",
}


@router.get("/api/v1.1/project/{vcs}/{org}/{repo}/{build_num}")
async def build_details(
    vcs: str, org: str, repo: str, build_num: int, tx: TxDep, user: CurrentUser, config: ConfigDep
) -> dict[str, Any]:
    project, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", build_num)
    details = await legacy.build_details(tx, project, job)
    base = f"{config.base_url}/api/v1.1/project/{project.slug}/{build_num}/output"
    steps = []
    for step in details.steps:
        actions = []
        for action in step.actions:
            failed = action.status.value in ("failed", "timedout")
            actions.append(
                {
                    "index": action.node_index,
                    "step": action.step_index,
                    "name": action.name,
                    "status": action.status.value,
                    "failed": failed,
                    "exit_code": action.exit_code,
                    "start_time": iso(action.started_at),
                    "end_time": iso(action.ended_at),
                    "run_time_millis": int((action.ended_at - action.started_at).total_seconds() * 1000)
                    if action.ended_at
                    else None,
                    "output_url": f"{base}/{action.step_index}/{action.node_index}",
                    "has_output": action.output_bytes > 0,
                    "type": "test" if action.type == "run" else action.type,
                    "bash_command": None,
                    "truncated": action.truncated,
                    "parallel": details.job.parallelism > 1,
                    "background": False,
                    "canceled": action.status.value == "canceled",
                    "timedout": action.status.value == "timedout",
                    "infrastructure_fail": False,
                    "continue": None,
                }
            )
        steps.append({"name": step.name, "actions": actions})
    job = details.job
    duration = (
        int((job.stopped_at - job.started_at).total_seconds() * 1000)
        if job.started_at and job.stopped_at
        else None
    )
    return {
        "build_num": job.number,
        "status": _V1_STATUS.get(job.status.value, job.status.value),
        "lifecycle": "finished"
        if job.status.is_final
        else ("running" if job.status.value == "running" else "queued"),
        "outcome": job.status.value if job.status.is_final else None,
        "vcs_type": {"gh": "github", "bb": "bitbucket"}.get(project.vcs_type, project.vcs_type),
        "username": project.org_login,
        "reponame": project.name,
        "vcs_url": project.repo_url,
        "branch": details.pipeline.branch,
        "vcs_tag": details.pipeline.tag,
        "vcs_revision": details.pipeline.revision,
        "subject": details.pipeline.vcs.get("commit", {}).get("subject"),
        "body": details.pipeline.vcs.get("commit", {}).get("body"),
        "build_url": f"{config.base_url}/pipelines/{project.slug}/{details.pipeline.number}/workflows/{details.workflow.id}/jobs/{job.number}",
        "queued_at": iso(job.queued_at),
        "start_time": iso(job.started_at),
        "stop_time": iso(job.stopped_at),
        "build_time_millis": duration,
        "parallel": max(1, job.parallelism),
        "why": details.pipeline.trigger_type,
        "user": {
            "login": details.pipeline.actor_login,
            "id": details.pipeline.actor_id,
            "is_user": True,
            "avatar_url": details.pipeline.actor_avatar_url,
            "name": details.pipeline.actor_login,
        },
        "workflows": {
            "job_name": job.name,
            "job_id": job.id,
            "workflow_id": details.workflow.id,
            "workflow_name": details.workflow.name,
            "workspace_id": details.workflow.id,
            "upstream_job_ids": details.upstream_ids,
            "upstream_concurrency_map": {},
        },
        "steps": steps,
        "failed": job.status.value in ("failed", "timedout", "infrastructure_fail"),
        "canceled": job.status.value == "canceled",
        "timedout": job.status.value == "timedout",
        "infrastructure_fail": job.status.value == "infrastructure_fail",
        "pipeline": {"id": details.pipeline.id},
    }


@router.get("/api/v1.1/project/{vcs}/{org}/{repo}/{build_num}/output/{step}/{index}")
async def step_output_json(
    vcs: str,
    org: str,
    repo: str,
    build_num: int,
    step: int,
    index: int,
    tx: TxDep,
    user: CurrentUser,
    logs: LogsDep,
) -> JSONResponse:
    _, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", build_num)
    found = await legacy.step_of(tx, job, index, step)
    text = (await logs.read(job.id, index, step)).decode("utf-8", errors="replace")
    if found is None or not text:
        return JSONResponse([])
    return JSONResponse(
        [
            {
                "message": text,
                "type": "out",
                "time": iso(found.ended_at or found.started_at),
                "truncated": found.truncated,
            }
        ]
    )


@router.get("/api/private/output/raw/{vcs}/{org}/{repo}/{build_num}/output/{index}/{step}")
async def step_output_raw(
    vcs: str,
    org: str,
    repo: str,
    build_num: int,
    index: int,
    step: int,
    tx: TxDep,
    user: CurrentUser,
    logs: LogsDep,
) -> PlainTextResponse:
    _, job = await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", build_num)
    return PlainTextResponse((await logs.read(job.id, index, step)).decode("utf-8", errors="replace"))


@router.get("/api/private/output/raw/{vcs}/{org}/{repo}/{build_num}/error/{index}/{step}")
async def step_error_raw(
    vcs: str, org: str, repo: str, build_num: int, index: int, step: int, tx: TxDep, user: CurrentUser
) -> PlainTextResponse:
    await access.job_by_number(tx, user, f"{vcs}/{org}/{repo}", build_num)
    return PlainTextResponse("")  # stderr is merged into the output stream, as CircleCI does for run steps
