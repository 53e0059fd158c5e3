"""Setup workflows and continuation: the pipeline's one-time key, ``POST /pipeline/continue``, and what
happens when a setup workflow ends without continuing.

The clear key exists only in the setup jobs' definitions, sealed with the server's secret box; the
pipeline row keeps its SHA-256. Continuing is a compare-and-set on the pipeline's ``continued`` flag, so
a key works once, and a setup workflow that ends first closes it the same way.
"""

from __future__ import annotations

import hashlib
import logging
import secrets as random_secrets
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.compiler import compile_config, declared_parameters
from circlet.engine import access, secrets
from circlet.engine.orbs import StoreOrbSource
from circlet.errors import BadRequest, ConfigInvalid
from circlet.model.accounts import User
from circlet.model.pipelines import Job, Pipeline, Workflow
from circlet.model.statuses import PipelineState
from circlet.store import jobs as job_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import workflows as workflow_store
from circlet.store.workflows import FINAL_WORKFLOW_STATUSES

ENV_NAME = "CIRCLE_CONTINUATION_KEY"
DEFINITION_FIELD = "continuation_key"  #: where a setup job's definition keeps the sealed key
SETUP_TAG = "setup"
KEY_BYTES = 32
INVALID_KEY = (
    "Invalid continuation key: it is unknown, its pipeline was already continued, "
    "or its setup workflow has already finished."
)
CONFLICTING_PARAMETERS = "Conflicting pipeline parameters."
NOT_CONTINUED = (
    "The setup workflow finished ({status}) without continuing the pipeline: no job posted its "
    "CIRCLE_CONTINUATION_KEY to /api/v2/pipeline/continue."
)

log = logging.getLogger(__name__)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def issue_key(tx: AsyncSession, pipeline: Pipeline) -> str:
    """Create the pipeline's continuation key; store its hash. Returns the key sealed for job definitions."""
    key = random_secrets.token_urlsafe(KEY_BYTES)
    await pipeline_store.set_continuation_key(tx, pipeline.id, key_hash(key))
    return secrets.box_for(tx).seal(key)


def _clear_key(tx: AsyncSession, job: Job) -> str | None:
    sealed = job.definition.get(DEFINITION_FIELD)
    return secrets.box_for(tx).open(sealed) if isinstance(sealed, str) and sealed else None


def job_environment(tx: AsyncSession, job: Job) -> dict[str, str]:
    """``CIRCLE_CONTINUATION_KEY`` for a job of a setup workflow; nothing for any other job."""
    key = _clear_key(tx, job)
    return {ENV_NAME: key} if key else {}


async def continue_pipeline(
    tx: AsyncSession,
    *,
    key: str,
    configuration: str,
    parameters: Mapping[str, Any] | None,
    actor: User | None = None,
) -> Pipeline:
    """Continue the setup pipeline that owns ``key`` with ``configuration``, once.

    The pipeline keeps its values; ``parameters`` are the continued config's pipeline parameters. The
    key is spent even when the configuration does not compile: the pipeline is then ``errored``.

    Raises:
        BadRequest: the key is unknown or already spent, or ``parameters`` gives a parameter the
            setup config also declares while the trigger set it to something else than the setup
            config's default (the key is not spent then).
        NotFound: ``actor`` was given and may not see the pipeline.
    """
    # imported here: pipelines imports this module, and events (which imports this module) is
    # imported by progress, which pipelines imports
    from circlet.engine import pipelines as pipeline_engine

    pipeline_id = await pipeline_store.claim_continuation(tx, key_hash(key))
    if pipeline_id is None:
        raise BadRequest(INVALID_KEY)
    pipeline = await pipeline_store.get_pipeline(tx, pipeline_id)
    if actor is not None:
        await access.pipeline_for(tx, actor, pipeline.id)
    project = await project_store.get_project(tx, pipeline.project_id)
    request = pipeline_engine.TriggerRequest(
        trigger_type=pipeline.trigger_type,
        trigger_source=pipeline.trigger_type,
        parameters=dict(parameters or {}),
    )
    values = pipeline_engine.pipeline_values(pipeline, project, request)
    orbs = StoreOrbSource(tx)
    setup_source = pipeline.setup_config or pipeline.config_source
    if _conflicting(setup_source, configuration, pipeline.parameters, request.parameters or {}):
        raise BadRequest(CONFLICTING_PARAMETERS)
    try:
        compiled = await anyio.to_thread.run_sync(
            lambda: compile_config(
                configuration,
                values=values,
                parameters=request.parameters or {},
                orbs=orbs,
                file=pipeline_engine.CONFIG_PATH,
            )
        )
        if compiled.setup:
            raise BadRequest("A continued configuration cannot itself be a setup configuration.")
    except (ConfigInvalid, BadRequest) as exc:
        problems = exc.problems if isinstance(exc, ConfigInvalid) else ()
        messages = [str(p) for p in problems] or [exc.message]
        await pipeline_store.update_pipeline(
            tx,
            pipeline.id,
            state=PipelineState.ERRORED,
            setup_config=setup_source,
            config_source=configuration,
            config_compiled="",
            errors=[{"type": "config", "message": m} for m in messages],
        )
        return await pipeline_store.get_pipeline(tx, pipeline.id)
    await pipeline_store.update_pipeline(
        tx,
        pipeline.id,
        state=PipelineState.CREATED,
        setup_config=setup_source,
        config_source=configuration,
        config_compiled=compiled.processed_yaml,
        parameters=dict(compiled.parameters),
        errors=[],
    )
    await pipeline_engine.start_workflows(tx, pipeline, compiled, actor_id=pipeline.actor_id)
    log.info("pipeline continued", extra={"action": "pipeline_continued", "pipeline_id": pipeline.id})
    return await pipeline_store.get_pipeline(tx, pipeline.id)


def _conflicting(
    setup_source: str, configuration: str, triggered: Mapping[str, Any], continued: Mapping[str, Any]
) -> bool:
    """A parameter passed to continue that both configs declare, where the pipeline was triggered
    with a value other than the setup config's default: CircleCI refuses to pick one."""
    try:
        in_setup, in_continued = declared_parameters(setup_source), declared_parameters(configuration)
    except ConfigInvalid:
        return False  # the compile below reports it
    return any(
        name in in_setup
        and name in in_continued
        and name in triggered
        and triggered[name] != in_setup[name].get("default")
        for name in continued
    )


async def setup_workflow_finished(tx: AsyncSession, workflow: Workflow) -> None:
    """When the last setup workflow of a pipeline ends without a continuation, end the pipeline.

    The key is spent by the same compare-and-set a continuation uses, so exactly one of the two wins;
    the pipeline becomes ``errored`` with an ``other`` error saying that nothing continued it.
    """
    if workflow.tag != SETUP_TAG:
        return
    pipeline = await pipeline_store.get_pipeline(tx, workflow.pipeline_id)
    if pipeline.state is not PipelineState.SETUP_PENDING:
        return
    page = await workflow_store.list_pipeline_workflows(tx, pipeline.id, page_token=None)
    if any(w.status not in FINAL_WORKFLOW_STATUSES for w in page.items):
        return
    key = next(
        (k for j in await job_store.list_workflow_jobs(tx, workflow.id) if (k := _clear_key(tx, j))), None
    )
    if key is None or await pipeline_store.claim_continuation(tx, key_hash(key)) is None:
        return
    await pipeline_store.update_pipeline(
        tx,
        pipeline.id,
        state=PipelineState.ERRORED,
        errors=[{"type": "other", "message": NOT_CONTINUED.format(status=workflow.status.value)}],
    )
