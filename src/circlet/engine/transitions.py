"""The job and workflow state machines: data plus pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from circlet.model.statuses import JobStatus, JobType, WorkflowStatus

J = JobStatus

#: Which job status may follow which. Final statuses have no successors.
ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    J.BLOCKED: frozenset({J.QUEUED, J.ON_HOLD, J.NOT_RUN, J.CANCELED, J.UNAUTHORIZED, J.SUCCESS}),
    J.ON_HOLD: frozenset({J.SUCCESS, J.CANCELED}),
    J.QUEUED: frozenset({J.RUNNING, J.CANCELED, J.UNAUTHORIZED, J.INFRASTRUCTURE_FAIL}),
    J.RUNNING: frozenset({J.SUCCESS, J.FAILED, J.CANCELED, J.TIMEDOUT, J.INFRASTRUCTURE_FAIL}),
}


def can_transition(start: JobStatus, to: JobStatus) -> bool:
    return to in ALLOWED.get(start, frozenset())


def sources_of(to: JobStatus) -> frozenset[JobStatus]:
    """Every status from which ``to`` may be reached (the ``expected`` set of a compare-and-set)."""
    return frozenset(s for s, targets in ALLOWED.items() if to in targets)


_FAILURES = frozenset({J.FAILED, J.TIMEDOUT, J.INFRASTRUCTURE_FAIL})
_RUNNABLE = frozenset({J.QUEUED, J.RUNNING})


def fold_tasks(statuses: Collection[JobStatus]) -> JobStatus | None:
    """A job's status from its parallel tasks' statuses; None while any task is not final."""
    if not statuses or any(not s.is_final for s in statuses):
        return None
    for status in (J.INFRASTRUCTURE_FAIL, J.TIMEDOUT, J.FAILED, J.CANCELED):
        if status in statuses:
            return status
    return J.SUCCESS


#: the status a job whose requirements are met moves to, by type (default ``queued``)
_READY = {JobType.APPROVAL: J.ON_HOLD, JobType.NO_OP: J.SUCCESS}


@dataclass(frozen=True, slots=True)
class JobState:
    """What the scheduler needs to know of one job of a workflow."""

    name: str
    type: JobType
    status: JobStatus
    requires: Sequence[str] = ()
    requires_statuses: Mapping[str, Sequence[str]] | None = None


def unblocked(jobs: Sequence[JobState]) -> dict[str, JobStatus]:
    """The new status of every blocked job whose requirements are all settled.

    A job whose requirements succeeded (or ended in a status its ``requires`` accepts) becomes
    ``queued`` (``on_hold`` for an approval job, ``success`` at once for a no-op job); otherwise it
    becomes ``not_run``. Either may in turn settle jobs downstream, so this runs to a fixed point.
    """
    status = {j.name: j.status for j in jobs}
    changes: dict[str, JobStatus] = {}
    progress = True
    while progress:
        progress = False
        for job in jobs:
            if status[job.name] is not J.BLOCKED:
                continue
            upstream = [(r, status.get(r)) for r in job.requires]
            if any(s is None or not s.is_final for _, s in upstream):
                continue
            accepted = job.requires_statuses or {}
            ok = all(s is not None and s.value in accepted.get(r, ("success",)) for r, s in upstream)
            new = _READY.get(job.type, J.QUEUED) if ok else J.NOT_RUN
            status[job.name] = changes[job.name] = new
            progress = True
    return changes


def workflow_status(statuses: Collection[JobStatus]) -> WorkflowStatus:
    """A workflow's status from its jobs' statuses, as CircleCI reports it."""
    failed = any(s in _FAILURES for s in statuses)
    if any(s in _RUNNABLE for s in statuses):
        return WorkflowStatus.FAILING if failed else WorkflowStatus.RUNNING
    if J.ON_HOLD in statuses:  # jobs still blocked now wait on the approval
        return WorkflowStatus.FAILING if failed else WorkflowStatus.ON_HOLD
    if J.BLOCKED in statuses:
        return WorkflowStatus.FAILING if failed else WorkflowStatus.RUNNING
    if J.UNAUTHORIZED in statuses:
        return WorkflowStatus.UNAUTHORIZED
    if J.CANCELED in statuses:
        return WorkflowStatus.CANCELED
    if failed or J.NOT_RUN in statuses:
        return WorkflowStatus.FAILED
    return WorkflowStatus.SUCCESS
