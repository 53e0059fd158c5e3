"""JSON forms of compiled values, as stored on job rows and sent to runners."""

from __future__ import annotations

from typing import Any

from circlet.model.configs import Executor, JobDefinition


def job_definition_to_json(job: JobDefinition) -> dict[str, Any]:
    return {
        "name": job.name,
        "executor": executor_to_json(job.executor),
        "steps": [dict(step) for step in job.steps],
        "environment": {k: str(v) for k, v in job.environment.items()},
        "working_directory": job.working_directory,
        "parallelism": job.parallelism,
        "shell": job.shell,
    }


def executor_to_json(executor: Executor) -> dict[str, Any]:
    return {
        "type": executor.type,
        "resource_class": executor.resource_class,
        "images": list(executor.images),
    }
