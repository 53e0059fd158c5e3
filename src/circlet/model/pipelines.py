"""Pipelines, workflows, jobs, tasks and steps as stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from circlet.model.statuses import JobStatus, JobType, PipelineState, StepStatus, WorkflowStatus
from circlet.types import JobId, PipelineId, ProjectId, TaskId, UserId, WorkflowId


@dataclass(frozen=True, kw_only=True, slots=True)
class Pipeline:
    id: PipelineId
    project_id: ProjectId
    project_slug: str
    number: int
    state: PipelineState
    created_at: datetime
    updated_at: datetime
    trigger_type: str  #: api | webhook | schedule | explicit
    trigger_received_at: datetime
    actor_id: UserId | None
    actor_login: str
    actor_avatar_url: str | None
    branch: str | None
    tag: str | None
    revision: str
    vcs: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    trigger_parameters: Mapping[str, Any] = field(default_factory=dict)
    errors: Sequence[Mapping[str, str]] = ()
    config_source: str = ""
    config_compiled: str = ""
    setup_config: str = ""  #: a setup pipeline's setup config, as read
    setup_config_compiled: str = ""  #: ... and as compiled


@dataclass(frozen=True, kw_only=True, slots=True)
class Workflow:
    id: WorkflowId
    pipeline_id: PipelineId
    pipeline_number: int
    project_id: ProjectId
    project_slug: str
    name: str
    status: WorkflowStatus
    created_at: datetime
    stopped_at: datetime | None
    started_by: str | None
    canceled_by: str | None = None
    errored_by: str | None = None
    tag: str | None = None
    rerun_of: str | None = None
    auto_reruns_left: int = 0  #: automatic reruns from failed still to come (``max_auto_reruns``)


@dataclass(frozen=True, kw_only=True, slots=True)
class Job:
    id: JobId
    workflow_id: WorkflowId
    pipeline_id: PipelineId
    project_id: ProjectId
    project_slug: str
    number: int | None
    name: str
    type: JobType
    status: JobStatus
    requires: tuple[str, ...]
    requires_statuses: Mapping[str, Sequence[str]]
    contexts: tuple[str, ...]
    definition: Mapping[str, Any]
    resource_class: str
    parallelism: int
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    approval_request_id: str | None = None
    approved_by: str | None = None
    canceled_by: str | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Task:
    id: TaskId
    job_id: JobId
    node_index: int
    status: JobStatus
    resource_class: str
    runner_name: str | None
    lease_id: str | None
    lease_expires_at: datetime | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    task_id: TaskId
    job_id: JobId
    node_index: int
    step_index: int
    name: str
    type: str
    status: StepStatus
    exit_code: int | None
    started_at: datetime
    ended_at: datetime | None
    output_bytes: int
    truncated: bool
