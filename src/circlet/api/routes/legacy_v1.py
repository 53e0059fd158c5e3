"""The rest of the v1.1 subset tools still call: who am I, projects, recent builds, cancel/retry, and the
legacy triggers (answered with a ``Deprecation`` header and a ``Link`` to the v2 endpoint).

The build job details and step output live in ``legacy.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import ConfigDep, CurrentUser, ServerConfig, TxDep
from circlet.api.views import iso
from circlet.engine import Tx, access, accounts, legacy_builds
from circlet.engine.legacy_builds import Build
from circlet.engine.slugs import LONG_NAMES
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Pipeline

router = APIRouter(prefix="/api/v1.1", tags=["v1.1"])

V1_STATUS = {"blocked": "not_running", "on_hold": "on_hold"}
FAILED = frozenset({"failed", "timedout", "infrastructure_fail"})
Limit = Annotated[int, Query()]


class LegacyTriggerBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    branch: str | None = None
    tag: str | None = None
    revision: str | None = None
    build_parameters: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None  #: some scripts send pipeline parameters by this name


def _vcs_type(project: Project) -> str:
    return LONG_NAMES.get(project.vcs_type, project.vcs_type)


def build_summary(found: Build, base_url: str, *, shallow: bool = False) -> dict[str, Any]:
    """A job as v1.1's build summary."""
    job, project, pipeline, workflow = found.job, found.project, found.pipeline, found.workflow
    status = job.status.value
    body: dict[str, Any] = {
        "build_num": job.number,
        "status": V1_STATUS.get(status, status),
        "lifecycle": "finished" if job.status.is_final else ("running" if status == "running" else "queued"),
        "outcome": status if job.status.is_final else None,
        "failed": status in FAILED if job.status.is_final else None,
        "vcs_type": _vcs_type(project),
        "username": project.org_login,
        "reponame": project.name,
        "vcs_url": project.repo_url,
        "branch": pipeline.branch,
        "vcs_tag": pipeline.tag,
        "vcs_revision": pipeline.revision,
        "build_url": f"{base_url}/pipelines/{project.slug}/{pipeline.number}/workflows/{workflow.id}/jobs/{job.number}",
        "queued_at": iso(job.queued_at),
        "start_time": iso(job.started_at),
        "stop_time": iso(job.stopped_at),
        "build_time_millis": int((job.stopped_at - job.started_at).total_seconds() * 1000)
        if job.started_at and job.stopped_at
        else None,
        "why": pipeline.trigger_type,
        "platform": "2.0",
    }
    if shallow:
        return body
    commit = pipeline.vcs.get("commit", {})
    body |= {
        "subject": commit.get("subject"),
        "body": commit.get("body"),
        "parallel": max(1, job.parallelism),
        "job_name": job.name,
        "user": {
            "login": pipeline.actor_login,
            "id": pipeline.actor_id,
            "is_user": pipeline.actor_id is not None,
        },
        "workflows": {
            "job_name": job.name,
            "job_id": job.id,
            "workflow_id": workflow.id,
            "workflow_name": workflow.name,
            "workspace_id": workflow.id,
        },
        "pipeline": {"id": pipeline.id, "number": pipeline.number},
    }
    return body


@router.get("/me")
async def me(tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    orgs = await accounts.orgs_of(tx, user)
    return {
        "login": user.login,
        "name": user.name,
        "id": user.id,
        "avatar_url": user.avatar_url,
        "admin": False,
        "organizations": [
            {"login": o.name, "vcs_type": LONG_NAMES.get(o.vcs_type, o.vcs_type)} for o in orgs
        ],
    }


@router.get("/projects")
async def projects(tx: TxDep, user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "vcs_url": p.repo_url,
            "vcs_type": _vcs_type(p),
            "username": p.org_login,
            "reponame": p.name,
            "default_branch": p.default_branch,
            "following": True,
            "oss": False,
            "branches": {},
        }
        for p in await legacy_builds.visible_projects(tx, user)
    ]


@router.get("/recent-builds")
async def recent_builds(
    tx: TxDep, user: CurrentUser, config: ConfigDep, limit: Limit = 30, offset: int = 0, shallow: bool = False
) -> list[dict[str, Any]]:
    found = await legacy_builds.recent_builds(tx, user, limit=limit, offset=offset)
    return [build_summary(b, config.base_url, shallow=shallow) for b in found]


@router.get("/project/{vcs}/{org}/{repo}")
async def project_builds(
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: CurrentUser,
    config: ConfigDep,
    limit: Limit = 30,
    offset: int = 0,
    filter: str | None = None,
    shallow: bool = False,
) -> list[dict[str, Any]]:
    found = await legacy_builds.recent_builds(
        tx, user, slug=f"{vcs}/{org}/{repo}", status_filter=filter, limit=limit, offset=offset
    )
    return [build_summary(b, config.base_url, shallow=shallow) for b in found]


@router.get("/project/{vcs}/{org}/{repo}/tree/{branch:path}")
async def branch_builds(
    vcs: str,
    org: str,
    repo: str,
    branch: str,
    tx: TxDep,
    user: CurrentUser,
    config: ConfigDep,
    limit: Limit = 30,
    offset: int = 0,
    filter: str | None = None,
    shallow: bool = False,
) -> list[dict[str, Any]]:
    found = await legacy_builds.recent_builds(
        tx, user, slug=f"{vcs}/{org}/{repo}", branch=branch, status_filter=filter, limit=limit, offset=offset
    )
    return [build_summary(b, config.base_url, shallow=shallow) for b in found]


def _deprecated(response: Response, base_url: str, project: Project) -> None:
    response.headers["Deprecation"] = "true"
    response.headers["Link"] = f'<{base_url}/api/v2/project/{project.slug}/pipeline>; rel="successor-version"'


@dataclass(frozen=True)
class _TriggerCall:
    """What every v1.1 trigger route receives: who, where, and the optional body."""

    tx: Tx
    user: User
    config: ServerConfig
    slug: str
    body: LegacyTriggerBody


async def _trigger_call(
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: CurrentUser,
    config: ConfigDep,
    body: Annotated[LegacyTriggerBody | None, Body()] = None,
) -> _TriggerCall:
    return _TriggerCall(tx, user, config, f"{vcs}/{org}/{repo}", body or LegacyTriggerBody())


TriggerCall = Annotated[_TriggerCall, Depends(_trigger_call)]


async def _trigger(call: _TriggerCall, branch: str | None) -> tuple[Project, Pipeline]:
    body = call.body
    pipeline = await legacy_builds.legacy_trigger(
        call.tx,
        call.user,
        call.slug,
        branch=branch or body.branch,
        tag=body.tag,
        revision=body.revision,
        build_parameters={**(body.build_parameters or {}), **(body.parameters or {})},
        mirrors_dir=call.config.data_dir / "mirrors",
    )
    return await access.project_for(call.tx, call.user, call.slug), pipeline


async def _trigger_with_summary(call: _TriggerCall, response: Response, branch: str | None) -> dict[str, Any]:
    """Trigger, mark the answer deprecated, and answer with the new pipeline's first build."""
    project, pipeline = await _trigger(call, branch)
    _deprecated(response, call.config.base_url, project)
    return await _triggered_summary(call.tx, call.user, call.config, project, pipeline)


async def _triggered_summary(
    tx: TxDep, user: CurrentUser, config: ConfigDep, project: Project, pipeline: Pipeline
) -> dict[str, Any]:
    """The first build job of the new pipeline as a build summary (CircleCI answered with one build)."""
    first = await legacy_builds.first_build(tx, user, project, pipeline)
    if first is not None:
        return build_summary(first, config.base_url)
    return {
        "build_num": None,
        "status": "not_run" if pipeline.errors else "not_running",
        "lifecycle": "finished" if pipeline.errors else "not_running",
        "vcs_type": _vcs_type(project),
        "username": project.org_login,
        "reponame": project.name,
        "branch": pipeline.branch,
        "vcs_tag": pipeline.tag,
        "vcs_revision": pipeline.revision,
        "why": pipeline.trigger_type,
        "messages": [{"type": e["type"], "message": e["message"]} for e in pipeline.errors],
        "pipeline": {"id": pipeline.id, "number": pipeline.number},
    }


@router.post("/project/{vcs}/{org}/{repo}/tree/{branch:path}", status_code=201)
async def trigger_branch(branch: str, call: TriggerCall, response: Response) -> dict[str, Any]:
    return await _trigger_with_summary(call, response, branch)


@router.post("/project/{vcs}/{org}/{repo}/build")
async def trigger_build(call: TriggerCall) -> JSONResponse:
    project, _ = await _trigger(call, None)
    answer = JSONResponse({"status": 200, "body": "Build created"})
    _deprecated(answer, call.config.base_url, project)
    return answer


@router.post("/project/{vcs}/{org}/{repo}", status_code=201)
async def trigger_project(call: TriggerCall, response: Response) -> dict[str, Any]:
    return await _trigger_with_summary(call, response, None)


@router.post("/project/{vcs}/{org}/{repo}/{build_num}/cancel")
async def cancel_build(
    vcs: str, org: str, repo: str, build_num: int, tx: TxDep, user: CurrentUser, config: ConfigDep
) -> dict[str, Any]:
    found = await legacy_builds.cancel_build(tx, user, f"{vcs}/{org}/{repo}", build_num)
    return build_summary(found, config.base_url)


@router.post("/project/{vcs}/{org}/{repo}/{build_num}/retry")
async def retry_build(
    vcs: str, org: str, repo: str, build_num: int, tx: TxDep, user: CurrentUser, config: ConfigDep
) -> dict[str, Any]:
    found = await legacy_builds.retry_build(tx, user, f"{vcs}/{org}/{repo}", build_num)
    return build_summary(found, config.base_url)


@router.get("/project/{vcs}/{org}/{repo}/{build_num}/artifacts")
async def artifacts(
    vcs: str, org: str, repo: str, build_num: int, tx: TxDep, user: CurrentUser, config: ConfigDep
) -> list[dict[str, Any]]:
    job, found = await legacy_builds.artifacts(tx, user, f"{vcs}/{org}/{repo}", build_num)
    return [
        {
            "path": a.path,
            "pretty_path": a.path,
            "node_index": a.node_index,
            "url": f"{config.base_url}/output/job/{job.id}/artifacts/{a.node_index}/{quote(a.path)}",
        }
        for a in found
    ]


@router.get("/project/{vcs}/{org}/{repo}/{build_num}/tests")
async def tests(
    vcs: str, org: str, repo: str, build_num: int, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    return {"tests": await legacy_builds.tests(tx, user, f"{vcs}/{org}/{repo}", build_num)}
