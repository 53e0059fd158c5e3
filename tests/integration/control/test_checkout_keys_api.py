"""Checkout keys through the real app: real ed25519 keys, CircleCI's fingerprints, the preferred key."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from sqlalchemy import text

from circlet.engine import checkout_keys
from circlet.store import projects as project_store
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeUser
from tests.integration.control.conftest import MakeOrg

V2 = "/api/v2"


async def test_keys_are_real_and_fingerprinted_like_ssh_keygen(
    client: httpx.AsyncClient,
    acme: MakeOrg,
    store: Store,
    tmp_path: Path,
) -> None:
    account, stranger = await acme("version: 2.1\n")
    url = f"{V2}/project/gh/acme/app/checkout-key"
    created = await client.post(url, headers=account.headers, json={"type": "deploy-key"})
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["type"] == "deploy-key" and key["preferred"] is True
    assert key["public-key"].startswith("ssh-ed25519 ")

    public = tmp_path / "key.pub"
    public.write_text(key["public-key"] + "\n")
    md5 = subprocess.run(
        ["ssh-keygen", "-l", "-E", "md5", "-f", str(public)], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    sha = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public)], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    assert md5 == "MD5:" + key["fingerprint"]
    listed = (await client.get(url, params={"digest": "sha256"}, headers=account.headers)).json()
    assert [k["fingerprint"] for k in listed["items"]] == [sha]

    async with store.transaction() as tx:
        rows = (await tx.execute(text("SELECT private_key_sealed FROM checkout_keys"))).all()
    assert rows and all("PRIVATE KEY" not in r[0] for r in rows)

    second = (await client.post(url, headers=account.headers, json={"type": "user-key"})).json()
    assert second["type"] == "github-user-key" and second["preferred"] is True
    items = (await client.get(url, headers=account.headers)).json()["items"]
    assert [(k["fingerprint"], k["preferred"]) for k in items] == [
        (second["fingerprint"], True),
        (key["fingerprint"], False),
    ]
    by_md5 = await client.get(f"{url}/{key['fingerprint']}", headers=account.headers)
    assert by_md5.status_code == 200 and by_md5.json()["public-key"] == key["public-key"]
    by_sha = await client.get(f"{url}/{sha}", headers=account.headers)
    assert by_sha.status_code == 200 and by_sha.json()["fingerprint"] == sha
    assert (await client.get(f"{url}/{key['fingerprint']}", headers=stranger.headers)).status_code == 404
    assert (await client.post(url, headers=account.headers, json={"type": "nope"})).status_code == 400

    deleted = await client.delete(f"{url}/{second['fingerprint']}", headers=account.headers)
    assert deleted.status_code == 200 and deleted.json() == {"message": "Checkout key deleted."}
    items = (await client.get(url, headers=account.headers)).json()["items"]
    assert [(k["fingerprint"], k["preferred"]) for k in items] == [(key["fingerprint"], True)]
    assert (await client.get(f"{url}/{second['fingerprint']}", headers=account.headers)).status_code == 404


async def test_ssh_projects_give_jobs_the_preferred_key(
    client: httpx.AsyncClient, make_user: MakeUser, make_project: MakeProject, store: Store, tmp_path: Path
) -> None:
    account = await make_user()
    await make_project("git@example.invalid:acme/app.git")
    await make_project(str(tmp_path), slug="gh/acme/local")
    for slug in ("gh/acme/app", "gh/acme/local"):
        await client.post(
            f"{V2}/project/{slug}/checkout-key", headers=account.headers, json={"type": "deploy-key"}
        )
    async with store.transaction() as tx:
        ssh_project = await project_store.find_project(tx, "gh/acme/app")
        local_project = await project_store.find_project(tx, "gh/acme/local")
        assert ssh_project and local_project
        env = await checkout_keys.checkout_environment(tx, ssh_project)
        assert await checkout_keys.checkout_environment(tx, local_project) == {}
    assert env["CHECKOUT_KEY"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    key_file = tmp_path / "id"
    key_file.write_text(env["CHECKOUT_KEY"])
    key_file.chmod(0o600)
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(key_file)], check=True, capture_output=True, text=True
    ).stdout.split()[:2]
    assert derived == env["CHECKOUT_KEY_PUBLIC"].split()[:2]
