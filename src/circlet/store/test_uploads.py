"""Which ``store_test_results`` steps were recorded, and a job's recorded test cases in API order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.model.tests import TestCase, TestOutcome
from circlet.store._types import utcnow
from circlet.store._upsert import insert_for, table_of
from circlet.store.tables_artifacts import TestUploadRow
from circlet.store.tables_insights import TestResultRow


async def claim_upload(tx: AsyncSession, *, task_id: str, step_index: int, cases: int, message: str) -> bool:
    """Mark a step's results as recorded; False when they already were (a retried upload)."""
    stmt = (
        insert_for(tx, table_of(TestUploadRow))
        .values(task_id=task_id, step_index=step_index, cases=cases, message=message, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["task_id", "step_index"])
    )
    result = await tx.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def job_test_cases(
    tx: AsyncSession, job_id: str, *, after_id: int, limit: int
) -> list[tuple[int, TestCase]]:
    """A job's test cases in the order they were recorded, ``limit`` of them after row ``after_id``."""
    rows = await tx.scalars(
        select(TestResultRow)
        .where(TestResultRow.job_id == job_id, TestResultRow.id > after_id)
        .order_by(TestResultRow.id)
        .limit(limit)
    )
    return [
        (
            r.id,
            TestCase(
                name=r.name,
                classname=r.classname,
                file=r.file,
                result=TestOutcome(r.result),
                message=r.message,
                run_time=r.run_time,
                source=r.source,
            ),
        )
        for r in rows
    ]
