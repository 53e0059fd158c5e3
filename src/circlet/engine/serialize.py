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
        "services": services(executor),
    }


def services(executor: Executor) -> list[dict[str, str]]:
    """The service containers of a docker executor (every image after the primary one), with the
    ``name`` CircleCI gives them as a host name when the config sets one."""
    docker = executor.raw.get("docker")
    if not isinstance(docker, list):
        return [{"image": image} for image in executor.images[1:]]
    found: list[dict[str, str]] = []
    for item in docker[1:]:
        if isinstance(item, dict) and item.get("image"):
            named = {"name": str(item["name"])} if item.get("name") else {}
            found.append({**named, "image": str(item["image"])})
    return found
