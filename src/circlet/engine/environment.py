"""What a runner receives for a task: the job's steps and its complete environment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import continuation
from circlet.engine.checkout_keys import checkout_environment
from circlet.engine.contexts import context_values
from circlet.engine.envvars import project_values
from circlet.model.accounts import Project
from circlet.model.pipelines import Job, Pipeline, Task
from circlet.protocol import (
    FEATURE_FINISH_OUTPUT,
    FEATURE_OUTPUT_AHEAD,
    FEATURE_TASK_REPORT,
    StepSpec,
    TaskAssignment,
)
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store

MIN_SECRET_LENGTH = 4  # shorter values are not masked: masking "a" would garble every log
NO_ENGINE_NOTICE = (
    "circlet: this job asks for a {type} executor{image}. There is no container engine here, so its steps "
    "run directly on the runner's host."
)
SERVICES_NOTICE = (
    "circlet: {count} service container{s} NOT started (no container engine): {listed}. Steps run on the "
    "runner's host; whatever they expect from {them} (e.g. a database on localhost) must already run there."
)
REMOTE_DOCKER_NOTICE = (
    "circlet: this job uses setup_remote_docker, but there is no remote Docker engine: DOCKER_HOST is not "
    "set, and docker commands use the host's own docker, if it has one."
)


async def assignment_for(
    tx: AsyncSession,
    job: Job,
    task: Task,
    *,
    lease_s: float,
    heartbeat_interval_s: float,
    max_runtime_s: float,
    base_url: str,
) -> TaskAssignment:
    pipeline = await pipeline_store.get_pipeline(tx, job.pipeline_id)
    project = await project_store.get_project(tx, job.project_id)
    definition = job.definition
    secret_env = {**await secrets_for(tx, job, project), **continuation.job_environment(tx, job)}
    environment = {
        **builtin_environment(job, task, pipeline, project, base_url=base_url),
        **secret_env,
        **{k: str(v) for k, v in definition.get("environment", {}).items()},
    }
    executor = definition.get("executor", {})
    steps: list[StepSpec] = [dict(s) for s in definition.get("steps", [])]  # type: ignore[misc]
    return TaskAssignment(
        task_id=task.id,
        lease_id=task.lease_id or "",
        lease_s=lease_s,
        heartbeat_interval_s=heartbeat_interval_s,
        job_id=job.id,
        job_number=job.number or 0,
        job_name=job.name,
        project_slug=project.slug,
        node_index=task.node_index,
        node_total=max(1, job.parallelism),
        executor=executor,
        working_directory=definition.get("working_directory", "~/project"),
        shell=definition.get("shell"),
        environment=environment,
        secrets=sorted({v for v in secret_env.values() if len(v) >= MIN_SECRET_LENGTH}),
        steps=steps,
        checkout={
            "repository_url": project.repo_url,
            "revision": pipeline.revision,
            "branch": pipeline.branch,
            "tag": pipeline.tag,
        },
        max_runtime_s=max_runtime_s,
        notices=_notices(executor, steps),
        features=[FEATURE_FINISH_OUTPUT, FEATURE_TASK_REPORT, FEATURE_OUTPUT_AHEAD],
    )


async def secrets_for(tx: AsyncSession, job: Job, project: Project) -> dict[str, str]:
    """The project's checkout key (SSH repositories), its environment variables, then those of the
    contexts the job names (contexts win, as on CircleCI). The job's right to its contexts was checked
    when it was queued."""
    return {
        **await checkout_environment(tx, project),
        **await project_values(tx, project.id),
        **await context_values(tx, job, project),
    }


def builtin_environment(
    job: Job, task: Task, pipeline: Pipeline, project: Project, *, base_url: str
) -> dict[str, str]:
    """CircleCI's built-in variables."""
    org, repo = project.slug.split("/")[1:3]
    env = {
        "CI": "true",
        "CIRCLECI": "true",
        "CIRCLE_BRANCH": pipeline.branch or "",
        "CIRCLE_SHA1": pipeline.revision,
        "CIRCLE_BUILD_NUM": str(job.number or 0),
        "CIRCLE_BUILD_URL": f"{base_url}/pipelines/{project.slug}/{pipeline.number}/workflows/{job.workflow_id}/jobs/{job.number}",
        "CIRCLE_JOB": job.name,
        "CIRCLE_WORKFLOW_ID": job.workflow_id,
        "CIRCLE_WORKFLOW_JOB_ID": job.id,
        "CIRCLE_WORKFLOW_WORKSPACE_ID": job.workflow_id,
        "CIRCLE_PIPELINE_ID": pipeline.id,
        "CIRCLE_PIPELINE_NUMBER": str(pipeline.number),
        "CIRCLE_PROJECT_USERNAME": org,
        "CIRCLE_PROJECT_REPONAME": repo,
        "CIRCLE_REPOSITORY_URL": project.repo_url,
        "CIRCLE_USERNAME": pipeline.actor_login,
        "CIRCLE_WORKING_DIRECTORY": job.definition.get("working_directory", "~/project"),
        "CIRCLE_NODE_INDEX": str(task.node_index),
        "CIRCLE_NODE_TOTAL": str(max(1, job.parallelism)),
        "CIRCLE_INTERNAL_TASK_DATA": "",
    }
    if pipeline.tag:
        env["CIRCLE_TAG"] = pipeline.tag
        env.pop("CIRCLE_BRANCH")
    return env


def _notices(executor: dict[str, Any], steps: list[StepSpec]) -> list[str]:
    """What the job asked for and does not get, printed at the top of its output."""
    notices: list[str] = []
    kind = executor.get("type", "docker")
    images = executor.get("images") or []
    if kind in ("docker", "machine", "macos", "windows"):
        image = f" ({images[0]})" if images else ""
        notices.append(NO_ENGINE_NOTICE.format(type=kind, image=image))
    services = executor.get("services")
    if services is None:  # a job stored before services were kept: only their images are known
        services = [{"image": image} for image in images[1:]]
    if services:
        listed = ", ".join(f"{s['name']} ({s['image']})" if s.get("name") else s["image"] for s in services)
        plural = len(services) > 1
        notices.append(
            SERVICES_NOTICE.format(
                count=len(services),
                s="s were" if plural else " was",
                listed=listed,
                them="them" if plural else "it",
            )
        )
    if any(step.get("type") == "setup_remote_docker" for step in steps):
        notices.append(REMOTE_DOCKER_NOTICE)
    return notices
