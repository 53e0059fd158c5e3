"""Runner protocol: test timings for ``circleci tests split --split-by=timings`` (see ``circlet.protocol``)."""

from __future__ import annotations

from fastapi import APIRouter

from circlet.api.deps import TxDep
from circlet.api.routes.runner import LeaseDep, RunnerDep
from circlet.engine import timings
from circlet.protocol import TaskTimings

router = APIRouter(prefix="/runner/v1", tags=["Runner"])


@router.get("/tasks/{task_id}/timings")
async def task_timings(task_id: str, lease: LeaseDep, tx: TxDep, _runner: RunnerDep) -> TaskTimings:
    return await timings.task_timings(tx, task_id, lease)
