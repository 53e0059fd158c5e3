"""Workspaces: each ``persist_to_workspace`` step adds a layer; ``attach_workspace`` gets the layers of
the job's upstream jobs (transitively), in graph order, so later layers overwrite earlier ones.

A rerun workflow reuses the results of the jobs it did not run again; their layers are the ones the
original run stored, so those are found by following ``rerun_of``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.caches import ARCHIVE_FORMATS, leased_job
from circlet.errors import BadRequest, NotFound
from circlet.model.pipelines import Job
from circlet.model.statuses import JobType
from circlet.model.storage import WorkspaceLayer
from circlet.store import jobs as job_store
from circlet.store import workflows as workflow_store
from circlet.store import workspaces as layer_store
from circlet.store._types import utcnow

MAX_RERUN_HOPS = 100  # a workflow can be rerun at most 100 times


async def layer_target(
    tx: AsyncSession, task_id: str, lease_id: str, step_index: int, archive_format: str
) -> tuple[Job, int, str]:
    """(job, node index, layer id) for a layer about to be uploaded."""
    if archive_format not in ARCHIVE_FORMATS:
        raise BadRequest(f"Unknown archive format {archive_format!r}.")
    job, node_index = await leased_job(tx, task_id, lease_id)
    return job, node_index, layer_store.layer_id_for(job.id, node_index, step_index)


async def record_layer(
    tx: AsyncSession, job: Job, node_index: int, step_index: int, *, archive_format: str, size_bytes: int
) -> None:
    await layer_store.add_layer(
        tx,
        workflow_id=job.workflow_id,
        job_id=job.id,
        job_name=job.name,
        node_index=node_index,
        step_index=step_index,
        archive_format=archive_format,
        size_bytes=size_bytes,
        created_at=utcnow(),
    )


async def upstream_layers(tx: AsyncSession, task_id: str, lease_id: str) -> list[WorkspaceLayer]:
    """The layers an ``attach_workspace`` of this task unpacks, first to last."""
    job, _ = await leased_job(tx, task_id, lease_id)
    jobs = await job_store.list_workflow_jobs(tx, job.workflow_id)
    ordered = graph_order(jobs, upstream_names(jobs, job.name))
    sources = [await _source_job(tx, upstream) for upstream in ordered]
    rank: dict[str, int] = {source.id: index for index, source in enumerate(sources)}
    layers = await layer_store.layers_of_jobs(tx, list(rank))
    return sorted(layers, key=lambda layer: (rank[layer.job_id], layer.node_index, layer.step_index))


async def layer_for_download(tx: AsyncSession, task_id: str, lease_id: str, layer_id: str) -> WorkspaceLayer:
    for layer in await upstream_layers(tx, task_id, lease_id):
        if layer.id == layer_id:
            return layer
    raise NotFound("Workspace layer not found.")


def upstream_names(jobs: Sequence[Job], name: str) -> set[str]:
    """Every job ``name`` requires, directly or through other jobs."""
    requires = {j.name: j.requires for j in jobs}
    found: set[str] = set()
    pending = list(requires.get(name, ()))
    while pending:
        current = pending.pop()
        if current not in found and current in requires:
            found.add(current)
            pending.extend(requires[current])
    return found


def graph_order(jobs: Sequence[Job], names: set[str]) -> list[Job]:
    """The jobs named in ``names``, each after everything it requires (ties keep workflow order)."""
    remaining = [j for j in jobs if j.name in names]
    done: set[str] = set()
    ordered: list[Job] = []
    while remaining:
        ready = [j for j in remaining if not (set(j.requires) & names) - done]
        if not ready:  # a cycle cannot be compiled; keep whatever is left in workflow order
            ready = remaining
        ordered.extend(ready)
        done.update(j.name for j in ready)
        remaining = [j for j in remaining if j.name not in done]
    return ordered


async def _source_job(tx: AsyncSession, job: Job) -> Job:
    """The run whose layers stand for ``job``: itself, or for a job a rerun reused, the original run."""
    for _ in range(MAX_RERUN_HOPS):
        if job.number is not None or job.type is not JobType.BUILD:
            return job
        workflow = await workflow_store.get_workflow(tx, job.workflow_id)
        if workflow.rerun_of is None:
            return job
        earlier = [j for j in await job_store.list_workflow_jobs(tx, workflow.rerun_of) if j.name == job.name]
        if not earlier:
            return job
        job = earlier[0]
    return job
