"""A job's artifacts and test results (v2), and artifact downloads.

Artifact URLs have CircleCI's shape, ``/output/job/{job_id}/artifacts/{node_index}/{path}``, and take the
caller's token in any form the API accepts (``Circle-Token``, HTTP Basic, ``?circle-token=``).
"""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from circlet.api.deps import ConfigDep, CurrentUser, FilesDep, StoreDep, TxDep, current_user
from circlet.engine import artifacts, test_uploads
from circlet.engine.paging import paginate
from circlet.errors import NotFound

router = APIRouter(tags=["Job"])
downloads = APIRouter(tags=["Job"])

PageToken = Annotated[str | None, Query(alias="page-token")]
#: An artifact is the job's content, served from the API's origin: keep any HTML in it from running as us.
SANDBOX_HEADERS = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}


@router.get("/project/{vcs}/{org}/{repo}/{number:int}/artifacts")
async def list_artifacts(
    vcs: str,
    org: str,
    repo: str,
    number: int,
    tx: TxDep,
    user: CurrentUser,
    config: ConfigDep,
    page_token: PageToken = None,
) -> dict[str, Any]:
    job, found = await artifacts.job_artifacts(tx, user, f"{vcs}/{org}/{repo}", number)
    items = [
        {
            "path": a.path,
            "node_index": a.node_index,
            "url": f"{config.base_url}/output/job/{job.id}/artifacts/{a.node_index}/{quote(a.path)}",
        }
        for a in found
    ]
    page, token = paginate(items, page_token)
    return {"items": page, "next_page_token": token}


@router.get("/project/{vcs}/{org}/{repo}/{number:int}/tests")
async def list_tests(
    vcs: str, org: str, repo: str, number: int, tx: TxDep, user: CurrentUser, page_token: PageToken = None
) -> dict[str, Any]:
    cases, token = await test_uploads.job_tests(tx, user, f"{vcs}/{org}/{repo}", number, page_token)
    items = [
        {
            "message": case.message or "",
            "source": case.source or "",
            "run_time": case.run_time,
            "file": case.file or "",
            "result": case.result.value,
            "name": case.name,
            "classname": case.classname,
        }
        for case in cases
    ]
    return {"items": items, "next_page_token": token}


@downloads.get("/output/job/{job_id}/artifacts/{node_index:int}/{path:path}", response_model=None)
async def download_artifact(
    job_id: str, node_index: int, path: str, request: Request, store: StoreDep, files: FilesDep
) -> FileResponse:
    async with store.transaction() as tx:  # closed before the file streams
        user = await current_user(request, tx)
        artifact = await artifacts.artifact_for_download(tx, user, job_id, node_index, path)
    stored = files.artifact_path(artifact.job_id, artifact.node_index, artifact.path)
    if not await anyio.Path(stored).is_file():
        raise NotFound("Artifact not found.")
    media_type = mimetypes.guess_type(artifact.path)[0] or "application/octet-stream"
    return FileResponse(stored, media_type=media_type, headers=SANDBOX_HEADERS)
