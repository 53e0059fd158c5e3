"""Config endpoints: continuing a setup pipeline, and compiling a config for editors and tools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import CurrentUser, TxDep, current_user, token_from_request
from circlet.api.schemas import ContinuePipelineBody
from circlet.api.views import compiled_config_json
from circlet.engine import continuation
from circlet.engine.pipelines import compile_preview
from circlet.errors import ConfigInvalid
from circlet.model.accounts import User
from circlet.model.statuses import PipelineState

router = APIRouter()


class CompileOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    owner_id: str | None = None
    pipeline_values: dict[str, Any] | None = None
    pipeline_parameters: dict[str, Any] | None = None


class CompileConfigBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    config_yaml: str
    options: CompileOptions | None = None


async def _optional_user(request: Request, tx: TxDep) -> User | None:
    """The caller when a token was sent (it must then be valid), else None."""
    if token_from_request(request) is None:
        return None
    return await current_user(request, tx)


OptionalUser = Annotated[User | None, Depends(_optional_user)]


@router.post("/pipeline/continue", tags=["Pipeline"], response_model=None)
async def continue_pipeline(
    body: ContinuePipelineBody, tx: TxDep, user: OptionalUser
) -> dict[str, Any] | JSONResponse:
    """The continuation key is the credential, as on CircleCI; a user token may come along."""
    pipeline = await continuation.continue_pipeline(
        tx,
        key=body.continuation_key,
        configuration=body.configuration,
        parameters=body.parameters,
        actor=user,
    )
    if pipeline.state is PipelineState.ERRORED:  # the key is spent and the pipeline ends: commit
        message = "\n".join(e["message"] for e in pipeline.errors) or "The configuration is invalid."
        return JSONResponse({"message": f"config compilation contains errors:\n{message}"}, status_code=400)
    return {"message": "Accepted."}


@router.post("/compile-config-with-defaults", tags=["Config"])
async def compile_config_with_defaults(
    body: CompileConfigBody, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    """Compile a config as a pipeline would, with default pipeline values; never stores anything."""
    del user
    options = body.options or CompileOptions()
    try:
        compiled = await compile_preview(
            tx,
            body.config_yaml,
            values=options.pipeline_values or {},
            parameters=options.pipeline_parameters or {},
        )
    except ConfigInvalid as exc:
        return compiled_config_json(body.config_yaml, "", exc.problems)
    return compiled_config_json(body.config_yaml, compiled.processed_yaml, ())
