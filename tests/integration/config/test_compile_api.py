"""``POST /api/v2/compile-config-with-defaults``: CircleCI's config compile endpoint for editors and tools."""

from __future__ import annotations

import httpx
import yaml

from circlet.engine import orb_registry
from circlet.store.db import Store
from tests.conftest import MakeUser

URL = "/api/v2/compile-config-with-defaults"

ORB = """\
version: 2.1
commands:
  hello:
    parameters:
      to: {type: string, default: world}
    steps:
      - run: echo hello << parameters.to >>
"""

CONFIG = """\
version: 2.1
orbs:
  greet: acme/greet@1
parameters:
  who: {type: string, default: everyone}
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - greet/hello: {to: << pipeline.parameters.who >>}
      - run: echo on << pipeline.git.branch >>
workflows:
  main:
    jobs:
      - build:
          filters: {branches: {only: main}}
"""


async def test_compiles_with_registry_orbs_and_default_values(
    store: Store, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user()
    async with store.transaction() as tx:
        await orb_registry.publish(tx, "acme/greet@1.0.0", ORB)
    response = await client.post(URL, headers=account.headers, json={"config_yaml": CONFIG})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is True
    assert body["errors"] == []
    assert body["source-yaml"] == CONFIG
    output = yaml.safe_load(body["output-yaml"])
    assert output["jobs"]["build"]["steps"] == [{"run": "echo hello everyone"}, {"run": "echo on main"}]
    assert list(output["workflows"]) == ["version", "main"]


async def test_options_set_pipeline_values_and_parameters(
    store: Store, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user()
    async with store.transaction() as tx:
        await orb_registry.publish(tx, "acme/greet@1.0.0", ORB)
    options = {"pipeline_values": {"git.branch": "feature"}, "pipeline_parameters": {"who": "you"}}
    body = (
        await client.post(URL, headers=account.headers, json={"config_yaml": CONFIG, "options": options})
    ).json()
    assert body["valid"] is True
    output = yaml.safe_load(body["output-yaml"])
    assert output["jobs"]["build"]["steps"] == [{"run": "echo hello you"}, {"run": "echo on feature"}]


async def test_invalid_config_lists_every_error(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    account = await make_user()
    source = "version: 2.1\norbs: {gone: acme/missing@1}\nworkflows:\n  w:\n    jobs: [nowhere]\n"
    response = await client.post(URL, headers=account.headers, json={"config_yaml": source})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["output-yaml"] == ""
    assert body["source-yaml"] == source
    messages = [e["message"] for e in body["errors"]]
    assert len(messages) >= 2
    assert any("acme/missing@1" in m for m in messages)
    assert any("nowhere" in m for m in messages)
    assert all(set(e) == {"message"} for e in body["errors"])


async def test_needs_a_token_and_a_config(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    assert (await client.post(URL, json={"config_yaml": "version: 2.1"})).status_code == 401
    account = await make_user()
    missing = await client.post(URL, headers=account.headers, json={})
    assert missing.status_code == 400
    assert "config_yaml" in missing.json()["message"]
