"""Identifier types and JSON aliases shared by every layer."""

from __future__ import annotations

from typing import Any, NewType, TypeAlias

UserId = NewType("UserId", str)
OrgId = NewType("OrgId", str)
ProjectId = NewType("ProjectId", str)
PipelineId = NewType("PipelineId", str)
WorkflowId = NewType("WorkflowId", str)
JobId = NewType("JobId", str)
TaskId = NewType("TaskId", str)
RunnerId = NewType("RunnerId", str)

JSONScalar: TypeAlias = str | int | float | bool | None
JSON: TypeAlias = Any  # a decoded JSON document (I/O edge)
JSONObject: TypeAlias = dict[str, Any]
