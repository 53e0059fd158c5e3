"""Inbound push hooks: GitHub, Gitea/Forgejo and GitLab signatures against a per-project secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from circlet.cli.main import app as cli
from circlet.engine import push
from circlet.settings import Settings
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser, git

V2 = "/api/v2"
HOOK = "/hooks/push/gh/acme/app"

CONFIG = """\
version: 2.1
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "<< pipeline.trigger_source >>"
workflows:
  main:
    jobs: [build]
"""


def github_push(repo: Path, ref: str = "refs/heads/main", **extra: Any) -> bytes:
    payload = {"ref": ref, "before": "0" * 40, "after": git(repo, "rev-parse", "HEAD"), "deleted": False}
    payload.update(extra)
    return json.dumps(payload).encode()


def github_headers(secret: str, body: bytes, event: str = "push") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


async def _secret(store: Store) -> str:
    async with store.transaction() as tx:
        return await push.new_push_secret(tx, "gh/acme/app")


async def _count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get(f"{V2}/project/gh/acme/app/pipeline", headers=headers)
    return len(response.json()["items"])


@pytest.fixture
async def project(make_repo: MakeRepo, make_project: MakeProject) -> Path:
    repo = make_repo(CONFIG)
    await make_project(repo)
    return repo


async def test_github_push_triggers_a_webhook_pipeline(
    client: httpx.AsyncClient, make_user: MakeUser, project: Path, store: Store
) -> None:
    account = await make_user("octocat")
    secret = await _secret(store)
    body = github_push(project, sender={"login": "octocat"})
    response = await client.post(HOOK, content=body, headers=github_headers(secret, body))
    assert response.status_code == 201, response.text
    pipeline = (await client.get(f"{V2}/pipeline/{response.json()['id']}", headers=account.headers)).json()
    assert pipeline["trigger"]["type"] == "webhook"
    assert pipeline["trigger"]["actor"]["login"] == "octocat"  # the pusher, a member of the org
    assert pipeline["vcs"]["branch"] == "main"
    assert pipeline["vcs"]["revision"] == git(project, "rev-parse", "HEAD")
    config = (await client.get(f"{V2}/pipeline/{pipeline['id']}/config", headers=account.headers)).json()
    assert 'echo "webhook"' in config["compiled"]
    assert "setup-config" not in config and "compiled-setup-config" not in config


async def test_tag_push_and_ignored_deliveries(
    client: httpx.AsyncClient, make_user: MakeUser, project: Path, store: Store
) -> None:
    account = await make_user()
    secret = await _secret(store)
    git(project, "tag", "v1.0.0")
    body = github_push(project, ref="refs/tags/v1.0.0")
    tagged = await client.post(HOOK, content=body, headers=github_headers(secret, body))
    assert tagged.status_code == 201, tagged.text
    pipeline = (await client.get(f"{V2}/pipeline/{tagged.json()['id']}", headers=account.headers)).json()
    assert pipeline["vcs"]["tag"] == "v1.0.0"
    assert pipeline["trigger"]["actor"]["login"] == "system"

    ping = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    deleted = github_push(project, after="0" * 40, deleted=True)
    for payload, event in (
        (ping, "ping"),
        (deleted, "push"),
        (github_push(project, ref="refs/notes/x"), "push"),
    ):
        response = await client.post(HOOK, content=payload, headers=github_headers(secret, payload, event))
        assert response.status_code == 200, response.text
        assert "ignored" in response.json()["message"]
    assert await _count(client, account.headers) == 1


async def test_unverified_pushes_are_refused_and_create_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, project: Path, store: Store
) -> None:
    account = await make_user()
    body = github_push(project)
    not_enabled = await client.post(HOOK, content=body, headers=github_headers("anything", body))
    assert not_enabled.status_code == 403, not_enabled.text
    secret = await _secret(store)
    good = github_headers(secret, body)
    missing = {k: v for k, v in good.items() if k != "X-Hub-Signature-256"}
    wrong_scheme = {**good, "X-Hub-Signature-256": good["X-Hub-Signature-256"].replace("sha256=", "sha1=")}
    refused = {
        "missing": (body, missing),
        "wrong secret": (body, github_headers("not the secret", body)),
        "tampered body": (github_push(project, ref="refs/heads/other"), good),
        "wrong scheme": (body, wrong_scheme),
    }
    for case, (payload, headers) in refused.items():
        response = await client.post(HOOK, content=payload, headers=headers)
        assert response.status_code == 401, (case, response.text)
        assert response.json()["message"]
    assert await _count(client, account.headers) == 0


async def test_malformed_and_unknown(
    client: httpx.AsyncClient, make_user: MakeUser, project: Path, store: Store
) -> None:
    account = await make_user()
    secret = await _secret(store)
    for body in (b"not json", b'{"after": "abc"}', b"[1, 2]"):
        response = await client.post(HOOK, content=body, headers=github_headers(secret, body))
        assert response.status_code == 400, body
    unknown_commit = github_push(project, after="1" * 40)
    response = await client.post(HOOK, content=unknown_commit, headers=github_headers(secret, unknown_commit))
    assert response.status_code == 400
    body = github_push(project)
    response = await client.post(
        "/hooks/push/gh/acme/nope", content=body, headers=github_headers(secret, body)
    )
    assert response.status_code == 404
    assert await _count(client, account.headers) == 0


async def test_gitea_forgejo_and_gitlab(
    client: httpx.AsyncClient, make_user: MakeUser, project: Path, store: Store
) -> None:
    account = await make_user()
    secret = await _secret(store)
    body = github_push(project, pusher={"login": "someone", "username": "someone"})
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    gitlab = json.dumps(
        {
            "object_kind": "push",
            "ref": "refs/heads/main",
            "after": git(project, "rev-parse", "HEAD"),
            "user_username": "x",
        }
    ).encode()
    accepted = [
        (body, {"X-Gitea-Event": "push", "X-Gitea-Signature": digest}),
        (body, {"X-Forgejo-Event": "push", "X-Forgejo-Signature": digest}),
        (gitlab, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret}),
    ]
    for payload, headers in accepted:
        response = await client.post(HOOK, content=payload, headers=headers)
        assert response.status_code == 201, (headers, response.text)
    refused = [
        (body, {"X-Gitea-Event": "push", "X-Gitea-Signature": "0" * 64}),
        (body, {"X-Forgejo-Event": "push", "X-Forgejo-Signature": ""}),
        (gitlab, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret + "x"}),
    ]
    for payload, headers in refused:
        response = await client.post(HOOK, content=payload, headers=headers)
        assert response.status_code == 401, headers
    assert await _count(client, account.headers) == 3


async def test_cli_sets_a_new_secret(
    client: httpx.AsyncClient, make_user: MakeUser, project: Path, settings: Settings, store: Store
) -> None:
    account = await make_user()
    old = await _secret(store)
    env = {"CIRCLET_DATABASE_URL": settings.database_url, "CIRCLET_DATA_DIR": str(settings.data_dir)}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["project", "push-secret", "gh/acme/app"], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith(HOOK)
    new = lines[-1]
    assert len(new) == 64 and new != old
    async with store.transaction() as tx:
        stored = " ".join(
            str(v) for row in await tx.execute(text("SELECT * FROM project_push_secrets")) for v in row
        )
    assert new not in stored  # sealed at rest
    body = github_push(project)
    assert (await client.post(HOOK, content=body, headers=github_headers(old, body))).status_code == 401
    assert (await client.post(HOOK, content=body, headers=github_headers(new, body))).status_code == 201
    assert await _count(client, account.headers) == 1
