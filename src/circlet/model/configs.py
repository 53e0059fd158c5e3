"""The compiler's output: expanded jobs and the workflows a trigger selects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from circlet.errors import Problem
from circlet.model.statuses import JobType

#: A normalized step, as sent to runners (see ``circlet.protocol.StepSpec``).
Step = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Executor:
    """Where a job runs. circlet runs every type on the runner's host."""

    type: str  #: docker | machine | macos | windows | shell
    resource_class: str = "medium"
    images: tuple[str, ...] = ()  #: docker images, primary first
    raw: Mapping[str, Any] = field(default_factory=dict)  #: the executor mapping as compiled


@dataclass(frozen=True, kw_only=True, slots=True)
class JobDefinition:
    """One fully expanded job (no parameters left)."""

    name: str
    executor: Executor
    steps: tuple[Step, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    working_directory: str = "~/project"
    parallelism: int = 1
    shell: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowJob:
    """A job instance inside a workflow."""

    name: str  #: instance name, unique in its workflow (after ``name:`` and matrix naming)
    job: str  #: key into ``CompiledConfig.jobs``; empty for approval jobs
    type: JobType = JobType.BUILD
    requires: tuple[str, ...] = ()  #: instance names
    #: for each required job, the statuses that satisfy it (default ``("success",)``)
    requires_statuses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contexts: tuple[str, ...] = ()
    serial_group: str | None = None
    runs: bool = True  #: False when its filters exclude this trigger
    skip_reason: str | None = None  #: why it does not run, for ``config plan``


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowPlan:
    """A workflow and whether this trigger runs it."""

    name: str
    jobs: tuple[WorkflowJob, ...] = ()
    runs: bool = True
    skip_reason: str | None = None  #: e.g. "when: << pipeline.parameters.deploy >> is false"
    max_auto_reruns: int = 0  #: times a failed run is rerun from failed by itself (0: never)


@dataclass(frozen=True, kw_only=True, slots=True)
class CompiledConfig:
    """A config compiled for one trigger."""

    version: str = "2.1"
    setup: bool = False  #: a setup config: its workflows run, then the pipeline continues
    jobs: Mapping[str, JobDefinition] = field(default_factory=dict)
    workflows: tuple[WorkflowPlan, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)  #: resolved pipeline parameters
    processed_yaml: str = ""  #: the 2.0-shaped expanded config, like ``circleci config process``
    warnings: tuple[Problem, ...] = ()
