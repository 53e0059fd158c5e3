"""Request bodies of the CircleCI API v2 (unknown fields are ignored, as CircleCI does)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ParamValue = int | bool | str


class TriggerPipelineBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    branch: str | None = None
    tag: str | None = None
    parameters: dict[str, ParamValue] | None = None


class PipelineRunConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    branch: str | None = None
    tag: str | None = None
    content: str | None = None  #: a config given inline


class PipelineRunCheckout(BaseModel):
    model_config = ConfigDict(extra="ignore")
    branch: str | None = None
    tag: str | None = None


class PipelineRunBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    definition_id: str | None = None
    config: PipelineRunConfig | None = None
    checkout: PipelineRunCheckout | None = None
    parameters: dict[str, ParamValue] | None = None


class ContinuePipelineBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    continuation_key: str = Field(alias="continuation-key")
    configuration: str
    parameters: dict[str, Any] | None = None
