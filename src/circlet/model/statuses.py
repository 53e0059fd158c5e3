"""Statuses of pipelines, workflows, jobs and steps, as CircleCI spells them on the wire."""

from __future__ import annotations

from enum import StrEnum


class PipelineState(StrEnum):
    CREATED = "created"  #: compiled; workflows were created
    ERRORED = "errored"  #: the config could not be fetched or compiled
    SETUP_PENDING = "setup-pending"  #: a setup workflow is running, waiting for continuation
    SETUP = "setup"  #: continued from a setup workflow
    PENDING = "pending"  #: received, not yet compiled


class WorkflowStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    FAILING = "failing"  #: a job failed, others still run
    ERROR = "error"  #: an infrastructure problem ended it
    CANCELED = "canceled"
    NOT_RUN = "not_run"
    ON_HOLD = "on_hold"  #: waiting on an approval job
    UNAUTHORIZED = "unauthorized"  #: a job named a context it may not use


class JobStatus(StrEnum):
    BLOCKED = "blocked"  #: waiting on required jobs
    QUEUED = "queued"  #: waiting for a runner with a matching resource_class
    RUNNING = "running"  #: claimed; the runner heartbeats
    SUCCESS = "success"
    FAILED = "failed"  #: a step exited non-zero
    CANCELED = "canceled"
    NOT_RUN = "not_run"  #: an upstream job did not succeed
    INFRASTRUCTURE_FAIL = "infrastructure_fail"  #: the runner went silent
    TIMEDOUT = "timedout"  #: no output for too long, or the maximum runtime passed
    ON_HOLD = "on_hold"  #: an approval job waiting for approval
    UNAUTHORIZED = "unauthorized"  #: a context restriction refused the job

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATUSES


FINAL_JOB_STATUSES = frozenset(
    {
        JobStatus.SUCCESS,
        JobStatus.FAILED,
        JobStatus.CANCELED,
        JobStatus.NOT_RUN,
        JobStatus.INFRASTRUCTURE_FAIL,
        JobStatus.TIMEDOUT,
        JobStatus.UNAUTHORIZED,
    }
)


class JobType(StrEnum):
    BUILD = "build"  #: runs its steps on a runner
    APPROVAL = "approval"  #: waits on hold until someone approves it
    NO_OP = "no-op"  #: a workflow marker: succeeds as soon as its requirements are met


class StepStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEDOUT = "timedout"
    NOT_RUN = "not_run"  #: skipped by its ``when``
