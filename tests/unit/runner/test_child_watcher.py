"""Child processes' exits reach the event loop through pidfds, with no waiting thread per child."""

from __future__ import annotations

import asyncio
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from circlet.runner.executor import wait_for_children_with_pidfds


@pytest.fixture
def restore_watcher() -> Iterator[None]:
    """Put back the process's child watcher (Python 3.11; from 3.12 there is none to set)."""
    if sys.version_info >= (3, 12):
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        before = asyncio.get_child_watcher()
        yield
        asyncio.set_child_watcher(before)


def test_children_are_waited_for_on_the_loop(restore_watcher: None) -> None:
    wait_for_children_with_pidfds()

    async def spawn_and_count_threads() -> tuple[int, int]:
        process = await asyncio.create_subprocess_exec("sh", "-c", "sleep 0.2; exit 3")
        threads = threading.active_count()
        return await process.wait(), threads

    before = threading.active_count()
    code, during = asyncio.run(spawn_and_count_threads())
    assert code == 3
    assert during == before
