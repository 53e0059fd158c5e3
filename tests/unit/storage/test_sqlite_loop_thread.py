"""SQLite calls run on the event loop's thread, and a locked database is waited for without blocking it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from circlet.errors import StoreError
from circlet.store.db import Store, after_commit


async def _stores(tmp_path: Path, count: int) -> list[Store]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'circlet.db'}"
    stores = [Store.from_url(url) for _ in range(count)]
    async with stores[0].engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
    return stores


async def test_statements_start_no_thread(tmp_path: Path) -> None:
    [store] = await _stores(tmp_path, 1)
    before = threading.active_count()
    try:
        async with store.transaction() as tx:
            await tx.execute(text("INSERT INTO t VALUES (1)"))
            assert threading.active_count() == before
        async with store.transaction() as tx:
            assert (await tx.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await store.close()


async def test_a_second_connection_waits_for_the_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    """Two stores on one file in one event loop: the second writer's BEGIN finds the file locked by
    the first, which can only commit if the loop keeps running while the second one waits."""
    first, second = await _stores(tmp_path, 2)
    try:
        async with first.transaction() as tx:
            await tx.execute(text("INSERT INTO t VALUES (1)"))

            async def write_second() -> int:
                async with second.transaction() as other:
                    await other.execute(text("INSERT INTO t VALUES (2)"))
                    return int((await other.execute(text("SELECT count(*) FROM t"))).scalar_one())

            waiting = asyncio.create_task(write_second())
            ticks = 0
            for _ in range(20):  # the loop keeps turning while the second writer waits
                await asyncio.sleep(0.005)
                ticks += 1
            assert ticks == 20 and not waiting.done()
        assert await asyncio.wait_for(waiting, 10) == 2  # it saw the first one's committed row
    finally:
        await first.close()
        await second.close()


async def test_a_lock_held_too_long_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("circlet.store.db.SQLITE_BUSY_TIMEOUT_MS", 200)
    first, second = await _stores(tmp_path, 2)
    try:
        async with first.transaction() as tx:
            await tx.execute(text("INSERT INTO t VALUES (1)"))
            started = time.monotonic()
            with pytest.raises(StoreError, match="locked"):
                async with second.transaction() as other:
                    await other.execute(text("INSERT INTO t VALUES (2)"))
            assert 0.15 < time.monotonic() - started < 5
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize(("setting", "pragma"), [("normal", 1), ("full", 2)])
async def test_the_synchronous_setting_reaches_the_connection(
    tmp_path: Path, setting: str, pragma: int
) -> None:
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'circlet.db'}", sqlite_synchronous=setting)
    try:
        async with store.transaction() as tx:
            assert (await tx.execute(text("PRAGMA synchronous"))).scalar() == pragma
            assert (await tx.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
    finally:
        await store.close()


def test_an_unknown_synchronous_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'circlet.db'}", sqlite_synchronous="off")


async def test_after_commit_callbacks_run_only_once_committed(tmp_path: Path) -> None:
    [store] = await _stores(tmp_path, 1)
    ran: list[str] = []
    try:
        async with store.transaction() as tx:
            await tx.execute(text("INSERT INTO t VALUES (1)"))
            after_commit(tx, lambda: ran.append("committed"))
            assert ran == []
        assert ran == ["committed"]
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                after_commit(tx, lambda: ran.append("rolled back"))
                raise RuntimeError("fail")
        assert ran == ["committed"]
    finally:
        await store.close()
