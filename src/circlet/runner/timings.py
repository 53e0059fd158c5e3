"""Fetch the job's test timings from the server into ``meta/timings.json`` for
``circleci tests split --split-by=timings`` (jobtools reads the file; the job never sees the
runner's token)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from circlet.protocol import LEASE_HEADER, TaskAssignment
from circlet.runner.client import Lease, RunnerClient

logger = logging.getLogger(__name__)

TIMINGS_FILE = "timings.json"  #: in the task's ``meta`` directory, next to the halt marker
_USES_TOOL = "circleci"  #: a run step that mentions it may split tests


def wants_timings(assignment: TaskAssignment) -> bool:
    """Parallel tasks, or tasks with a step that calls ``circleci``: the others cannot split."""
    if assignment["node_total"] > 1:
        return True
    return any(_USES_TOOL in step.get("command", "") for step in assignment["steps"])


async def fetch_timings(client: RunnerClient, lease: Lease, meta: Path) -> None:
    """Write the timings file; on any failure write nothing (the split falls back to names)."""
    try:
        response = await client.http.get(
            f"/tasks/{lease.task_id}/timings", headers={LEASE_HEADER: lease.lease_id}
        )
        response.raise_for_status()
        body = response.json()
    except Exception as exc:  # best effort: without timings the split falls back to names
        logger.warning("no test timings: %s", exc, extra={"action": "timings_failed"})
        return
    (meta / TIMINGS_FILE).write_text(json.dumps(body))
