"""Triggering and reading pipelines."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from circlet.api.deps import ConfigDep, CurrentUser, StoreDep, TxDep, current_user
from circlet.api.schemas import PipelineRunBody, TriggerPipelineBody
from circlet.api.views import pipeline_created_json, pipeline_json, workflow_json
from circlet.engine import access, reads
from circlet.engine.pipelines import TriggerRequest, fetch_source, trigger_pipeline

router = APIRouter(tags=["Pipeline"])

PageToken = Annotated[str | None, Query(alias="page-token")]


@router.post("/project/{provider}/{organization}/{project}/pipeline/run", status_code=201)
async def run_pipeline(
    provider: str,
    organization: str,
    project: str,
    request: Request,
    store: StoreDep,
    config: ConfigDep,
    body: Annotated[PipelineRunBody | None, Body()] = None,
) -> dict[str, Any]:
    body = body or PipelineRunBody()
    checkout = body.checkout
    cfg = body.config
    trigger_request = TriggerRequest(
        branch=(checkout.branch if checkout else None) or (cfg.branch if cfg else None),
        tag=(checkout.tag if checkout else None) or (cfg.tag if cfg else None),
        parameters=body.parameters,
        config_override=cfg.content if cfg else None,
    )
    return await _trigger(request, store, config, f"{provider}/{organization}/{project}", trigger_request)


@router.post("/project/{vcs}/{org}/{repo}/pipeline", status_code=201)
async def trigger(
    vcs: str,
    org: str,
    repo: str,
    request: Request,
    store: StoreDep,
    config: ConfigDep,
    body: Annotated[TriggerPipelineBody | None, Body()] = None,
) -> dict[str, Any]:
    body = body or TriggerPipelineBody()
    trigger_request = TriggerRequest(branch=body.branch, tag=body.tag, parameters=body.parameters)
    return await _trigger(request, store, config, f"{vcs}/{org}/{repo}", trigger_request)


async def _trigger(
    request: Request, store: StoreDep, config: ConfigDep, slug: str, trigger_request: TriggerRequest
) -> dict[str, Any]:
    """Check access, read git outside any transaction, then create the pipeline in one transaction."""
    async with store.transaction() as tx:
        user = await current_user(request, tx)
        project = await access.project_for(tx, user, slug)
    mirrors_dir = config.data_dir / "mirrors"
    fetched = await fetch_source(project, trigger_request, mirrors_dir=mirrors_dir)
    async with store.transaction() as tx:
        pipeline = await trigger_pipeline(
            tx, project, user, trigger_request, mirrors_dir=mirrors_dir, fetched=fetched
        )
    return pipeline_created_json(pipeline)


@router.get("/project/{vcs}/{org}/{repo}/pipeline")
async def list_project_pipelines(
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: CurrentUser,
    branch: str | None = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    page = await reads.project_pipelines(tx, project, branch=branch, page_token=page_token)
    return {"items": [pipeline_json(p) for p in page.items], "next_page_token": page.next_page_token}


@router.get("/project/{vcs}/{org}/{repo}/pipeline/mine")
async def list_my_pipelines(
    vcs: str, org: str, repo: str, tx: TxDep, user: CurrentUser, page_token: PageToken = None
) -> dict[str, Any]:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    page = await reads.project_pipelines(tx, project, actor=user, page_token=page_token)
    return {"items": [pipeline_json(p) for p in page.items], "next_page_token": page.next_page_token}


@router.get("/project/{vcs}/{org}/{repo}/pipeline/{number}")
async def get_pipeline_by_number(
    vcs: str, org: str, repo: str, number: int, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    project = await access.project_for(tx, user, f"{vcs}/{org}/{repo}")
    return pipeline_json(await reads.pipeline_by_number(tx, project, number))


@router.get("/pipeline")
async def list_pipelines(
    tx: TxDep,
    user: CurrentUser,
    org_slug: Annotated[str | None, Query(alias="org-slug")] = None,
    mine: bool = False,
    page_token: PageToken = None,
) -> dict[str, Any]:
    page = await reads.org_pipelines(tx, user, org_slug=org_slug, mine=mine, page_token=page_token)
    return {"items": [pipeline_json(p) for p in page.items], "next_page_token": page.next_page_token}


@router.get("/pipeline/{pipeline_id}")
async def get_pipeline(pipeline_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return pipeline_json(await access.pipeline_for(tx, user, pipeline_id))


@router.get("/pipeline/{pipeline_id}/config")
async def get_pipeline_config(pipeline_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    pipeline = await access.pipeline_for(tx, user, pipeline_id)
    body = {"source": pipeline.config_source, "compiled": pipeline.config_compiled}
    if pipeline.setup_config:
        body["setup-config"] = pipeline.setup_config
        body["compiled-setup-config"] = pipeline.setup_config_compiled
    return body


@router.get("/pipeline/{pipeline_id}/values")
async def get_pipeline_values(pipeline_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    pipeline = await access.pipeline_for(tx, user, pipeline_id)
    return await reads.pipeline_values(tx, pipeline)


@router.get("/pipeline/{pipeline_id}/workflow")
async def list_pipeline_workflows(
    pipeline_id: str, tx: TxDep, user: CurrentUser, page_token: PageToken = None
) -> dict[str, Any]:
    pipeline = await access.pipeline_for(tx, user, pipeline_id)
    page = await reads.pipeline_workflows(tx, pipeline, page_token=page_token)
    return {"items": [workflow_json(w) for w in page.items], "next_page_token": page.next_page_token}
