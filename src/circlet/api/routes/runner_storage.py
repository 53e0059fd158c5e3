"""Runner storage calls (``/runner/v1/tasks/{task_id}/...``): caches, workspace layers, artifacts and
test results; see ``circlet.protocol`` for the exchange.

Bodies are streamed to and from files. No database transaction stays open while bytes move: each call
checks the lease in one short transaction, moves the bytes, then records the result in another.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse

from circlet.api.deps import ConfigDep, FilesDep, StoreDep
from circlet.api.routes.runner import LeaseDep, runner_identity
from circlet.engine import artifacts, caches, test_uploads, workspaces
from circlet.errors import NotFound
from circlet.protocol import (
    ARCHIVE_HEADER,
    CacheHit,
    CacheSaved,
    TestResultsRecorded,
    WorkspaceLayerInfo,
    WorkspaceLayers,
)

router = APIRouter(prefix="/runner/v1/tasks/{task_id}", tags=["Runner"])

ArchiveDep = Annotated[str, Header(alias=ARCHIVE_HEADER)]
ARCHIVE_MEDIA_TYPE = "application/octet-stream"


@router.get("/caches", response_model=None)
async def find_cache(
    task_id: str,
    request: Request,
    lease: LeaseDep,
    store: StoreDep,
    key: Annotated[list[str], Query()],
    archive_format: Annotated[list[str], Query(alias="format")] = ["tar+gzip"],  # noqa: B006
    exact: bool = False,
) -> Any:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        cache = await caches.find_cache(tx, task_id, lease, key, formats=archive_format, exact=exact)
    if cache is None:
        return Response(status_code=204)
    return CacheHit(
        cache_id=cache.id,
        key=cache.key,
        archive_format=cache.archive_format,  # type: ignore[typeddict-item]
        size_bytes=cache.size_bytes,
    )


@router.get("/caches/{cache_id}", response_model=None)
async def download_cache(
    task_id: str, cache_id: str, request: Request, lease: LeaseDep, store: StoreDep, files: FilesDep
) -> FileResponse:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        cache = await caches.cache_for_download(tx, task_id, lease, cache_id)
    return await _file(files.cache_path(cache.project_id, cache.id), cache.archive_format)


@router.put("/caches")
async def save_cache(
    task_id: str,
    request: Request,
    lease: LeaseDep,
    store: StoreDep,
    files: FilesDep,
    config: ConfigDep,
    archive_format: ArchiveDep,
    key: Annotated[str, Query()],
) -> CacheSaved:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        job = await caches.check_new_key(tx, task_id, lease, key, archive_format)
    if job is None:
        await _drain(request)
        return CacheSaved(saved=False, size_bytes=0)
    cache_id = str(uuid.uuid4())
    path = files.cache_path(job.project_id, cache_id)
    size = await files.receive(request.stream(), path, max_bytes=config.max_upload_bytes)
    try:
        async with store.transaction() as tx:
            job, _ = await caches.leased_job(tx, task_id, lease)
            saved, expired = await caches.record_cache(
                tx,
                job,
                cache_id=cache_id,
                key=key,
                archive_format=archive_format,
                size_bytes=size,
                default_retention_s=config.cache_retention_s,
            )
    except BaseException:
        await files.delete(path)
        raise
    await files.delete(*(files.cache_path(c.project_id, c.id) for c in expired))
    if not saved:
        await files.delete(path)
    return CacheSaved(saved=saved, size_bytes=size if saved else 0)


@router.put("/steps/{index}/workspace")
async def persist_layer(
    task_id: str,
    index: int,
    request: Request,
    lease: LeaseDep,
    store: StoreDep,
    files: FilesDep,
    config: ConfigDep,
    archive_format: ArchiveDep,
) -> dict[str, Any]:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        job, node_index, layer_id = await workspaces.layer_target(tx, task_id, lease, index, archive_format)
    path = files.layer_path(job.workflow_id, layer_id)
    size = await files.receive(request.stream(), path, max_bytes=config.max_upload_bytes)
    async with store.transaction() as tx:
        job, node_index = await caches.leased_job(tx, task_id, lease)
        await workspaces.record_layer(
            tx, job, node_index, index, archive_format=archive_format, size_bytes=size
        )
    return {"size_bytes": size}


@router.get("/workspace")
async def list_layers(task_id: str, request: Request, lease: LeaseDep, store: StoreDep) -> WorkspaceLayers:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        layers = await workspaces.upstream_layers(tx, task_id, lease)
    return WorkspaceLayers(
        layers=[
            WorkspaceLayerInfo(
                layer_id=layer.id,
                job_name=layer.job_name,
                node_index=layer.node_index,
                archive_format=layer.archive_format,  # type: ignore[typeddict-item]
                size_bytes=layer.size_bytes,
            )
            for layer in layers
        ]
    )


@router.get("/workspace/{layer_id}", response_model=None)
async def download_layer(
    task_id: str, layer_id: str, request: Request, lease: LeaseDep, store: StoreDep, files: FilesDep
) -> FileResponse:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        layer = await workspaces.layer_for_download(tx, task_id, lease, layer_id)
    return await _file(files.layer_path(layer.workflow_id, layer.id), layer.archive_format)


@router.put("/steps/{index}/artifacts")
async def store_artifact(
    task_id: str,
    index: int,
    request: Request,
    lease: LeaseDep,
    store: StoreDep,
    files: FilesDep,
    config: ConfigDep,
    path: Annotated[str, Query()],
) -> dict[str, Any]:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        job, node_index, clean = await artifacts.artifact_target(tx, task_id, lease, path)
    dest = files.artifact_path(job.id, node_index, clean)
    size = await files.receive(request.stream(), dest, max_bytes=config.max_upload_bytes)
    async with store.transaction() as tx:
        job, node_index = await caches.leased_job(tx, task_id, lease)
        await artifacts.record_artifact(tx, job, node_index, clean, size)
    return {"path": clean, "size_bytes": size}


@router.put("/steps/{index}/test-results")
async def store_test_results(
    task_id: str, index: int, request: Request, lease: LeaseDep, store: StoreDep, files: FilesDep
) -> TestResultsRecorded:
    async with store.transaction() as tx:
        await runner_identity(request, tx)
        await test_uploads.results_target(tx, task_id, lease)
    upload = files.incoming_path().with_suffix(".tar")
    try:
        await files.receive(request.stream(), upload, max_bytes=test_uploads.MAX_XML_BYTES)
        parsed = await anyio.to_thread.run_sync(test_uploads.parse_results_archive, upload)
    finally:
        await files.delete(upload)
    async with store.transaction() as tx:
        job = await test_uploads.results_target(tx, task_id, lease)
        await test_uploads.record_results(tx, task_id, job, index, parsed)
    return TestResultsRecorded(cases=len(parsed.cases), files=parsed.files, problems=parsed.problems)


async def _file(path: Any, archive_format: str) -> FileResponse:
    if not await anyio.Path(path).is_file():
        raise NotFound("The stored file is gone.")
    return FileResponse(path, media_type=ARCHIVE_MEDIA_TYPE, headers={ARCHIVE_HEADER: archive_format})


async def _drain(request: Request) -> None:
    async for _ in request.stream():
        pass
