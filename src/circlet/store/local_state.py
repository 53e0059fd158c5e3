"""What ``circlet local`` keeps between runs of a work tree: its project's caches (rows; the files
are copied by the caller) and the test cases of each job's latest recorded run (for timings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.store import caches as cache_store
from circlet.store._types import utcnow
from circlet.store.tables_artifacts import CacheRow
from circlet.store.tables_insights import TestResultRow
from circlet.store.timings import latest_job_cases

KEPT_JOB_ID = "circlet-local"  #: the job id of imported rows (no such job exists)


async def export_caches(tx: AsyncSession, project_id: str) -> list[dict[str, Any]]:
    rows = await tx.scalars(
        select(CacheRow).where(CacheRow.project_id == project_id, CacheRow.expires_at > utcnow())
    )
    return [
        {
            "id": r.id,
            "key": r.key,
            "archive_format": r.archive_format,
            "size_bytes": r.size_bytes,
            "created_at": r.created_at.isoformat(),
            "expires_at": r.expires_at.isoformat(),
        }
        for r in rows
    ]


async def import_caches(tx: AsyncSession, project_id: str, caches: list[dict[str, Any]]) -> None:
    for cache in caches:
        await cache_store.add_cache(
            tx,
            cache_id=cache["id"],
            project_id=project_id,
            key=cache["key"],
            archive_format=cache["archive_format"],
            size_bytes=int(cache["size_bytes"]),
            job_id=KEPT_JOB_ID,
            created_at=datetime.fromisoformat(cache["created_at"]),
            expires_at=datetime.fromisoformat(cache["expires_at"]),
        )


async def export_cases(tx: AsyncSession, project_id: str) -> dict[str, list[list[Any]]]:
    """Job name -> [file, classname, name, seconds] of its latest run with test results."""
    names = await tx.scalars(
        select(TestResultRow.job_name).where(TestResultRow.project_id == project_id).distinct()
    )
    exported = {}
    for name in names:
        cases = await latest_job_cases(tx, project_id, name)
        exported[name] = [[c.file, c.classname, c.name, c.run_time_s] for c in cases]
    return exported


async def import_cases(tx: AsyncSession, project_id: str, jobs: dict[str, list[list[Any]]]) -> None:
    now = utcnow()
    rows = [
        {
            "project_id": project_id,
            "job_id": f"{KEPT_JOB_ID}-{index}",
            "job_number": None,
            "workflow_id": KEPT_JOB_ID,
            "workflow_name": "",
            "job_name": job_name,
            "branch": "",
            "revision": "",
            "name": name,
            "classname": classname,
            "file": file or None,
            "result": "success",
            "message": None,
            "run_time": float(seconds),
            "source": None,
            "created_at": now,
        }
        for index, (job_name, cases) in enumerate(jobs.items())
        for file, classname, name, seconds in cases
    ]
    if rows:
        await tx.execute(insert(TestResultRow), rows)
