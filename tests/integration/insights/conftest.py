"""A small hand-built history (see history.py) written through the same code that records real runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from circlet.engine import projects
from circlet.insights.seed import PastWorkflow, write_history
from circlet.store._types import utcnow
from circlet.store.db import Store
from tests.conftest import Account, MakeProject, MakeUser
from tests.integration.insights.history import build_history

WriteHistory = Callable[..., Awaitable[list[str]]]


@pytest.fixture
def write(store: Store) -> WriteHistory:
    """Write ``PastWorkflow`` runs for a project slug; returns their workflow ids in order."""

    async def _write(slug: str, runs: list[PastWorkflow]) -> list[str]:
        async with store.transaction() as tx:
            project = await projects.find_project(tx, slug)
            assert project is not None
            return await write_history(tx, project, runs)

    return _write


@pytest.fixture
async def seeded(
    make_user: MakeUser, make_project: MakeProject, write: WriteHistory
) -> tuple[Account, datetime, dict[str, str]]:
    """The hand-built history for gh/acme/app (plus an empty gh/acme/other); returns the account,
    the ``now`` the history was built around, and workflow ids by run label."""
    account = await make_user("ana")
    await make_project("/nonexistent", "gh/acme/app")
    await make_project("/nonexistent", "gh/acme/other")
    now = utcnow()
    labels, runs = build_history(now)
    ids = await write("gh/acme/app", runs)
    return account, now, dict(zip(labels, ids, strict=True))
