"""The storage calls of the runner protocol, spoken directly: retries are idempotent, leases are checked,
bad paths are refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import httpx

from circlet.engine import accounts
from circlet.protocol import ARCHIVE_HEADER, LEASE_HEADER
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.storage.pipelines import SLUG, V2

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "junit"
CONFIG = """\
version: 2.1
jobs:
  manual:
    machine: true
    resource_class: acme/manual
    steps: [{run: "true"}]
workflows:
  main:
    jobs: [manual]
"""


def _tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_retried_storage_calls_are_idempotent(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    store: Store,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "acme/manual")
    created = await client.post(
        f"{V2}/project/{SLUG}/pipeline", headers=account.headers, json={"branch": "main"}
    )
    assert created.status_code == 201
    auth = {"Authorization": f"Bearer {token}"}
    claim = await client.post(
        "/runner/v1/claim",
        headers=auth,
        json={"resource_class": "acme/manual", "runner_name": "m", "wait_s": 5},
    )
    task = claim.json()
    base = f"/runner/v1/tasks/{task['task_id']}"
    leased = {**auth, LEASE_HEADER: task["lease_id"]}

    results = _tar_gz({"pytest.xml": (FIXTURES / "pytest.xml").read_bytes()})
    for _ in range(2):  # a retry after a lost answer
        response = await client.put(f"{base}/steps/0/test-results", headers=leased, content=results)
        assert response.json() == {"cases": 4, "files": 1, "problems": []}
    tests = (await client.get(f"{V2}/project/{SLUG}/1/tests", headers=account.headers)).json()
    assert len(tests["items"]) == 4

    archive = _tar_gz({"home/x": b"1"})
    put = {**leased, ARCHIVE_HEADER: "tar+gzip"}
    first = await client.put(f"{base}/caches", headers=put, params={"key": "k-1"}, content=archive)
    again = await client.put(
        f"{base}/caches", headers=put, params={"key": "k-1"}, content=_tar_gz({"home/y": b"2"})
    )
    assert first.json() == {"saved": True, "size_bytes": len(archive)}
    assert again.json() == {"saved": False, "size_bytes": 0}
    hit = (await client.get(f"{base}/caches", headers=leased, params={"key": ["nope", "k-"]})).json()
    assert hit["key"] == "k-1" and hit["size_bytes"] == len(archive)
    download = await client.get(f"{base}/caches/{hit['cache_id']}", headers=leased)
    assert download.content == archive and download.headers[ARCHIVE_HEADER] == "tar+gzip"
    miss = await client.get(f"{base}/caches", headers=leased, params={"key": "k-1-", "exact": "true"})
    assert miss.status_code == 204
    like = await client.get(f"{base}/caches", headers=leased, params={"key": "k%"})
    assert like.status_code == 204  # % is a literal in a prefix, not a wildcard

    for _ in range(2):
        response = await client.put(
            f"{base}/steps/0/artifacts", headers=leased, params={"path": "a/./b.txt"}, content=b"v"
        )
        assert response.json() == {"path": "a/b.txt", "size_bytes": 1}
    listing = (await client.get(f"{V2}/project/{SLUG}/1/artifacts", headers=account.headers)).json()
    assert [item["path"] for item in listing["items"]] == ["a/b.txt"]
    escape = await client.put(
        f"{base}/steps/0/artifacts", headers=leased, params={"path": "../x"}, content=b"v"
    )
    assert escape.status_code == 400

    stale = {**auth, LEASE_HEADER: "not-the-lease"}
    assert (await client.get(f"{base}/caches", headers=stale, params={"key": "k-"})).status_code == 409
    response = await client.put(
        f"{base}/steps/1/workspace", headers={**stale, ARCHIVE_HEADER: "tar+gzip"}, content=archive
    )
    assert response.status_code == 409
    assert (
        await client.get(f"{base}/workspace", headers={LEASE_HEADER: task["lease_id"]})
    ).status_code == 401
