"""Locking for cancellation on PostgreSQL: take task rows before job rows (the order runners' claims and
finishes use), and retry a unit of work in a savepoint when PostgreSQL still picks it as a deadlock
victim. On SQLite every transaction holds the write lock, so both are no-ops there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import StoreError
from circlet.store.tables import TaskRow

T = TypeVar("T")
DEADLOCK = "40P01"  #: PostgreSQL's SQLSTATE for deadlock_detected
DEADLOCK_ATTEMPTS = 4


def _is_postgres(tx: AsyncSession) -> bool:
    return tx.get_bind().dialect.name == "postgresql"


async def lock_tasks(tx: AsyncSession, job_ids: Collection[str]) -> None:
    """Lock the tasks of these jobs (waiting for a runner's claim or finish of one to commit)."""
    if job_ids and _is_postgres(tx):
        await tx.execute(
            select(TaskRow.id).where(TaskRow.job_id.in_(job_ids)).order_by(TaskRow.id).with_for_update()
        )


async def retrying_deadlocks(tx: AsyncSession, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a savepoint; when PostgreSQL aborts it as a deadlock victim, roll back to the
    savepoint (releasing its locks) and run it again.

    Raises:
        StoreError: the deadlock persisted.
    """
    if not _is_postgres(tx):
        return await work()
    for attempt in range(DEADLOCK_ATTEMPTS):
        try:
            async with tx.begin_nested():
                return await work()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK:
                raise
            if attempt == DEADLOCK_ATTEMPTS - 1:
                raise StoreError(f"database error: {exc.orig!s}") from exc
    raise AssertionError("unreachable")
