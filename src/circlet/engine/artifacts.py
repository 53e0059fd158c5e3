"""Artifacts: files a job stores with ``store_artifacts``, listed per job and downloaded with a user's token."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.caches import leased_job
from circlet.errors import BadRequest
from circlet.model.accounts import User
from circlet.model.pipelines import Job
from circlet.model.storage import Artifact
from circlet.store import artifacts as artifact_store
from circlet.store._types import utcnow

MAX_PATH_CHARS = 4096


def clean_artifact_path(path: str) -> str:
    """``a//b/./c`` -> ``a/b/c``; a path that is empty or climbs with ``..`` is refused."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or len(path) > MAX_PATH_CHARS or "\0" in path:
        raise BadRequest(f"Invalid artifact path {path!r}.")
    return "/".join(parts)


async def artifact_target(tx: AsyncSession, task_id: str, lease_id: str, path: str) -> tuple[Job, int, str]:
    """(job, node index, clean path) for a file about to be uploaded."""
    clean = clean_artifact_path(path)
    job, node_index = await leased_job(tx, task_id, lease_id)
    return job, node_index, clean


async def record_artifact(tx: AsyncSession, job: Job, node_index: int, path: str, size_bytes: int) -> None:
    await artifact_store.put_artifact(
        tx, job_id=job.id, node_index=node_index, path=path, size_bytes=size_bytes, created_at=utcnow()
    )


async def job_artifacts(tx: AsyncSession, user: User, slug: str, number: int) -> tuple[Job, list[Artifact]]:
    _, job = await access.job_by_number(tx, user, slug, number)
    return job, await artifact_store.list_artifacts(tx, job.id)


async def artifact_for_download(
    tx: AsyncSession, user: User, job_id: str, node_index: int, path: str
) -> Artifact:
    job = await access.job_for(tx, user, job_id)
    return await artifact_store.get_artifact(tx, job.id, node_index, clean_artifact_path(path))
