"""Window metrics for workflows, jobs, a project's pages summary and an org summary."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.insights.queries import WF_DAYS, job_tallies, workflow_tallies, workflow_tallies_of
from circlet.insights.recording import ALL_BRANCHES
from circlet.insights.tally import RunMetrics, Tally, metrics_of
from circlet.insights.windows import Window, day_of

BRANCH_HISTORY = timedelta(days=90)


@dataclass(frozen=True, kw_only=True, slots=True)
class NamedMetrics:
    name: str
    metrics: RunMetrics


@dataclass(frozen=True, kw_only=True, slots=True)
class Compared:
    """Metrics of a window beside those of the window before it (for trends)."""

    name: str
    branch: str | None
    current: RunMetrics
    previous: RunMetrics


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkflowSummary:
    current: RunMetrics
    previous: RunMetrics
    workflow_names: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectSummary:
    project: Compared
    workflows: tuple[Compared, ...]
    workflow_branches: tuple[Compared, ...]
    all_branches: tuple[str, ...]
    all_workflows: tuple[str, ...]


def _by_name(_project: str, name: str, _branch: str) -> Hashable:
    return name


def _by_project(project: str, _name: str, _branch: str) -> Hashable:
    return project


def _by_name_branch(_project: str, name: str, branch: str) -> Hashable:
    return (name, branch)


def _whole(_project: str, _name: str, _branch: str) -> Hashable:
    return ""


async def workflow_metrics(
    tx: AsyncSession, project_id: str, window: Window, *, branch: str | None
) -> list[NamedMetrics]:
    """Every workflow with runs in ``window``, sorted by name."""
    tallies = await workflow_tallies(tx, [project_id], window, branch=branch, key=_by_name)
    return [
        NamedMetrics(name=str(n), metrics=tallies[n].metrics(window.days)) for n in sorted(tallies, key=str)
    ]


async def job_metrics(
    tx: AsyncSession,
    project_id: str,
    workflow_name: str,
    window: Window,
    *,
    branch: str | None,
    job_name: str | None = None,
) -> list[NamedMetrics]:
    tallies = await job_tallies(tx, project_id, workflow_name, window, branch=branch, job_name=job_name)
    return [NamedMetrics(name=n, metrics=tallies[n].metrics(window.days)) for n in sorted(tallies)]


async def workflow_summary(
    tx: AsyncSession, project_id: str, workflow_name: str, window: Window, *, branch: str | None
) -> WorkflowSummary:
    """One workflow's metrics in ``window`` and the window before, plus the project's workflow names."""
    current, previous = await workflow_tallies_of(
        tx, [project_id], [window, window.previous()], branch=branch, key=_whole, workflow_name=workflow_name
    )
    names = await workflow_names(tx, project_id, window)
    return WorkflowSummary(
        current=current.get("", Tally()).metrics(window.days),
        previous=previous.get("", Tally()).metrics(window.days),
        workflow_names=tuple(names),
    )


async def workflow_names(tx: AsyncSession, project_id: str, window: Window) -> list[str]:
    query = (
        select(WF_DAYS.c.workflow_name)
        .distinct()
        .where(
            WF_DAYS.c.project_id == project_id,
            WF_DAYS.c.branch == ALL_BRANCHES,
            WF_DAYS.c.day >= day_of(window.start),
            WF_DAYS.c.day <= day_of(window.end),
        )
    )
    return sorted((await tx.execute(query)).scalars().all())


async def branch_names(
    tx: AsyncSession, project_id: str, now: datetime, *, workflow_name: str | None = None
) -> list[str]:
    """Branches with workflow runs in the last 90 days (by UTC day), sorted."""
    query = (
        select(WF_DAYS.c.branch)
        .distinct()
        .where(
            WF_DAYS.c.project_id == project_id,
            WF_DAYS.c.branch != ALL_BRANCHES,
            WF_DAYS.c.day >= day_of(now - BRANCH_HISTORY),
        )
    )
    if workflow_name is not None:
        query = query.where(WF_DAYS.c.workflow_name == workflow_name)
    return sorted(b for b in (await tx.execute(query)).scalars().all() if b)


async def project_summary(
    tx: AsyncSession,
    project_id: str,
    window: Window,
    *,
    branches: Sequence[str] = (),
    workflows: Sequence[str] = (),
) -> ProjectSummary:
    """The project overall, per workflow and per workflow and branch (all branches), with trends.

    Reads the weekly and daily rollups of every branch and of ``*`` for both windows at once (the per-workflow
    figures are the ``*`` rows, the project's their sum); every figure's duration statistics are computed
    together.
    """
    # no first/last run times in this answer, so they are not read
    cur, prev = await workflow_tallies_of(
        tx,
        [project_id],
        [window, window.previous()],
        branch=None,
        key=_by_name_branch,
        per_branch=True,
        spans=False,
    )
    cur_wf, prev_wf = _all_branches(cur), _all_branches(prev)
    all_workflows = sorted(cur_wf)
    pairs = sorted(k for k in cur if isinstance(k, tuple) and k[1] != ALL_BRANCHES)
    names = [n for n in all_workflows if not workflows or n in workflows]
    listed = [
        (name, branch)
        for name, branch in pairs
        if (not workflows or name in workflows) and (not branches or branch in branches)
    ]
    tallies = [_sum(cur_wf.values()), _sum(prev_wf.values())]
    tallies += [t for n in names for t in (cur_wf[n], prev_wf.get(n, Tally()))]
    tallies += [t for k in listed for t in (cur[k], prev.get(k, Tally()))]
    metrics = iter(metrics_of(tallies, window.days))
    project = Compared(name="", branch=None, current=next(metrics), previous=next(metrics))
    per_workflow = tuple(
        Compared(name=name, branch=None, current=next(metrics), previous=next(metrics)) for name in names
    )
    per_branch = tuple(
        Compared(name=name, branch=branch, current=next(metrics), previous=next(metrics))
        for name, branch in listed
    )
    return ProjectSummary(
        project=project,
        workflows=per_workflow,
        workflow_branches=per_branch,
        all_branches=tuple(sorted({str(k[1]) for k in pairs})),
        all_workflows=tuple(all_workflows),
    )


def _all_branches(tallies: dict[Hashable, Tally]) -> dict[str, Tally]:
    """The ``(workflow, "*")`` tallies, by workflow name."""
    return {str(k[0]): t for k, t in tallies.items() if isinstance(k, tuple) and k[1] == ALL_BRANCHES}


def _sum(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.absorb(tally)
    return total


async def org_summary(
    tx: AsyncSession, project_ids: Sequence[str], window: Window
) -> tuple[Compared, dict[str, Compared]]:
    """The org overall and each project (by id), this window against the previous one."""
    cur, prev = await workflow_tallies_of(
        tx,
        project_ids,
        [window, window.previous()],
        branch=None,
        key=_by_project,
        durations=False,
        spans=False,
    )
    days = window.days
    per_project = {
        str(pid): Compared(
            name=str(pid),
            branch=None,
            current=cur.get(pid, Tally()).metrics(days),
            previous=prev.get(pid, Tally()).metrics(days),
        )
        for pid in project_ids
        if pid in cur
    }
    org = Compared(
        name="",
        branch=None,
        current=_sum(cur.values()).metrics(days),
        previous=_sum(prev.values()).metrics(days),
    )
    return org, per_project
