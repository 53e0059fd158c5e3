"""Caches, as runners use them: find by ordered key prefixes (newest match wins), save a key once.

Caches belong to a project and are shared by its branches. A saved key is never replaced: the first
save wins and later saves of the same key are skipped. A cache lives its project's retention after
it was saved: the project's ``cache_retention_days`` (CircleCI's "usage controls" retention, set with
:func:`set_retention`) else the server's default. Expired caches are never found; they are deleted (row
and file) when the project next saves a cache or its retention changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.slugs import normalize_project_slug
from circlet.errors import BadRequest, NotFound
from circlet.model.accounts import Project
from circlet.model.pipelines import Job
from circlet.model.storage import Cache
from circlet.store import caches as cache_store
from circlet.store import jobs as job_store
from circlet.store import projects as project_store
from circlet.store import tasks as task_store
from circlet.store._types import utcnow

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 900  # CircleCI's limit
ARCHIVE_FORMATS = ("tar+gzip", "tar+zstd")
USAGE = "usage"  #: the project settings key of CircleCI's "usage controls"
RETENTION_DAYS = "cache_retention_days"
MAX_RETENTION_DAYS = 3650
DAY_S = 86400.0


async def leased_job(tx: AsyncSession, task_id: str, lease_id: str) -> tuple[Job, int]:
    """The job of a task held under ``lease_id``, and the task's node index."""
    task = await task_store.leased_task(tx, task_id, lease_id)
    return await job_store.get_job(tx, task.job_id), task.node_index


async def find_cache(
    tx: AsyncSession,
    task_id: str,
    lease_id: str,
    keys: Sequence[str],
    *,
    formats: Sequence[str],
    exact: bool = False,
) -> Cache | None:
    """The first key that matches decides; among its matches the newest cache wins."""
    job, _ = await leased_job(tx, task_id, lease_id)
    now = utcnow()
    for key in keys:
        if not key:
            continue
        if exact:
            found = await cache_store.find_key(tx, job.project_id, key, now=now)
        else:
            found = await cache_store.newest_with_prefix(tx, job.project_id, key, formats=formats, now=now)
        if found is not None:
            return found
    return None


async def cache_for_download(tx: AsyncSession, task_id: str, lease_id: str, cache_id: str) -> Cache:
    job, _ = await leased_job(tx, task_id, lease_id)
    cache = await cache_store.find_by_id(tx, cache_id)
    if cache is None or cache.project_id != job.project_id or cache.expires_at <= utcnow():
        raise NotFound("Cache not found.")
    return cache


async def check_new_key(
    tx: AsyncSession, task_id: str, lease_id: str, key: str, archive_format: str
) -> Job | None:
    """The saving job, or None when ``key`` is already saved (nothing to upload)."""
    if not key or len(key) > MAX_KEY_CHARS:
        raise BadRequest(f"A cache key must be 1 to {MAX_KEY_CHARS} characters.")
    if archive_format not in ARCHIVE_FORMATS:
        raise BadRequest(f"Unknown archive format {archive_format!r}.")
    job, _ = await leased_job(tx, task_id, lease_id)
    if await cache_store.find_key(tx, job.project_id, key, now=utcnow()) is not None:
        return None
    return job


async def record_cache(
    tx: AsyncSession,
    job: Job,
    *,
    cache_id: str,
    key: str,
    archive_format: str,
    size_bytes: int,
    default_retention_s: float,
) -> tuple[bool, list[Cache]]:
    """Record an uploaded cache. Returns (saved, expired caches whose files the caller deletes)."""
    now = utcnow()
    project = await project_store.get_project(tx, job.project_id)
    retention_s = retention_of(project, default_retention_s)
    expired = await cache_store.remove_expired(tx, job.project_id, now=now)
    saved = await cache_store.add_cache(
        tx,
        cache_id=cache_id,
        project_id=job.project_id,
        key=key,
        archive_format=archive_format,
        size_bytes=size_bytes,
        job_id=job.id,
        created_at=now,
        expires_at=now + timedelta(seconds=retention_s),
    )
    log.info(
        "cache saved" if saved else "cache key taken",
        extra={"action": "cache_saved", "job_id": job.id, "key": key, "size": size_bytes},
    )
    return saved, expired


def retention_of(project: Project, default_s: float) -> float:
    """Seconds a cache of ``project`` stays restorable."""
    days = project.settings.get(USAGE, {}).get(RETENTION_DAYS)
    return float(days) * DAY_S if isinstance(days, (int, float)) else default_s


async def set_retention(
    tx: AsyncSession, slug: str, days: float | None, *, default_s: float
) -> tuple[Project, list[Cache]]:
    """Set (``None``: back to ``default_s``) the project's cache retention. Caches already expired are
    deleted first, so a longer retention never brings one back; every other cache of the project now
    expires that long after it was saved, so a shorter retention takes effect at once. Returns the
    project and the deleted caches, whose files the caller deletes."""
    if days is not None and not (0 < days <= MAX_RETENTION_DAYS):
        raise BadRequest(f"Cache retention must be more than 0 and at most {MAX_RETENTION_DAYS} days.")
    project = await project_named(tx, slug)
    expired = await cache_store.remove_expired(tx, project.id, now=utcnow())
    usage = {k: v for k, v in project.settings.get(USAGE, {}).items() if k != RETENTION_DAYS}
    if days is not None:
        usage[RETENTION_DAYS] = days
    project = await project_store.update_project(tx, project.id, settings={**project.settings, USAGE: usage})
    await cache_store.reset_expiry(tx, project.id, timedelta(seconds=retention_of(project, default_s)))
    return project, expired + await cache_store.remove_expired(tx, project.id, now=utcnow())


async def project_named(tx: AsyncSession, slug: str) -> Project:
    project = await project_store.find_project(tx, normalize_project_slug(slug))
    if project is None:
        raise NotFound(f"Project {slug} not found.")
    return project
