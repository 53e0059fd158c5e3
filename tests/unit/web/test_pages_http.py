"""Pages over HTTP against the real app: the plan view, the pipelines list's reads, Server-Timing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import event

from circlet.engine.continuation import key_hash
from circlet.store import pipelines as pipeline_store
from circlet.store.db import Store
from circlet.types import PipelineId
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.unit.web.test_auth_http import sign_in

PLAN_CONFIG = """
version: 2.1
parameters:
  nightly: {type: boolean, default: false}
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: sleep 30}]}
  deploy: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
  smoke: {docker: [{image: cimg/base:stable}], steps: [{run: "true"}]}
workflows:
  main:
    jobs:
      - build
      - deploy: {requires: [build], filters: {branches: {only: release}}}
      - smoke: {requires: [deploy]}
  nightly:
    when: << pipeline.parameters.nightly >>
    jobs: [build]
  tagged:
    jobs:
      - build: {filters: {tags: {only: /^v.*/}, branches: {ignore: /.*/}}}
"""


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
        yield c


async def _project_with_user(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    config: str,
) -> str:
    alice = await make_user("alice", org="gh/acme")
    await make_project(make_repo(config), "gh/acme/app")
    await sign_in(client, alice.token)
    return alice.token


async def _trigger(client: httpx.AsyncClient, token: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v2/project/gh/acme/app/pipeline",
        json=body or {"branch": "main"},
        headers={"Circle-Token": token},
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _section(html: str, attr: str, name: str) -> str:
    """The ``<section>`` (workflows) or ``<tr>`` (jobs, pipelines) whose ``attr`` is ``name``."""
    tag = "section" if attr == "data-workflow" else "tr"
    match = re.search(rf'<{tag}[^>]*{attr}="{re.escape(name)}"[^>]*>.*?</{tag}>', html, re.S)
    assert match, f"no {attr}={name} on the page"
    return match.group(0)


async def test_the_plan_shows_what_ran_and_why_the_rest_did_not(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token = await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    await _trigger(client, token)
    page = await client.get("/pipelines/gh/acme/app/1/config/plan")
    assert page.status_code == 200
    html = page.text
    assert "branch main" in html
    main = _section(html, "data-workflow", "main")
    assert 'data-runs="yes"' in main.split(">", 1)[0]
    build = _section(main, "data-job", "build")
    assert 'data-runs="yes"' in build and "/workflows/" in build  # links the job that ran
    assert "branch &#39;main&#39; is not in filters.branches.only" in _section(main, "data-job", "deploy")
    assert "it requires &#39;deploy&#39;, which does not run" in _section(main, "data-job", "smoke")
    nightly = _section(html, "data-workflow", "nightly")
    assert 'data-runs="no"' in nightly.split(">", 1)[0] and "Not run: when:" in nightly
    tagged = _section(html, "data-workflow", "tagged")
    assert 'data-runs="no"' in tagged.split(">", 1)[0]
    assert "none of its jobs runs" in tagged
    assert "matches filters.branches.ignore" in _section(tagged, "data-job", "build")


async def test_the_plan_follows_the_pipelines_parameters_and_tag(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token = await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    await _trigger(client, token, branch="main", parameters={"nightly": True})
    html = (await client.get("/pipelines/gh/acme/app/1/config/plan")).text
    assert 'data-runs="yes"' in _section(html, "data-workflow", "nightly").split(">", 1)[0]


async def test_a_config_that_does_not_compile_shows_its_problems(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    broken = "version: 2.1\njobs:\n  build: {docker: [{image: x}], steps: [{run: x}]}\nworkflows:\n  main: {jobs: [nope]}\n"
    token = await _project_with_user(client, make_user, make_repo, make_project, broken)
    await _trigger(client, token)
    page = await client.get("/pipelines/gh/acme/app/1/config/plan")
    assert page.status_code == 200
    assert 'id="plan-problems"' in page.text and "nope" in page.text
    pipeline = await client.get("/pipelines/gh/acme/app/1")
    assert "/config/plan" in pipeline.text


async def test_the_plan_of_another_orgs_pipeline_is_not_found(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    owner = await make_user("owner", org="gh/other")
    await make_project(make_repo(PLAN_CONFIG), "gh/other/secret")
    await _trigger_as(client, owner.token, "gh/other/secret")
    await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    assert (await client.get("/pipelines/gh/other/secret/1/config/plan")).status_code == 404


async def _trigger_as(client: httpx.AsyncClient, token: str, slug: str) -> None:
    response = await client.post(
        f"/api/v2/project/{slug}/pipeline", json={"branch": "main"}, headers={"Circle-Token": token}
    )
    assert response.status_code == 201


@contextmanager
def counting_statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", _count)


async def test_the_pipelines_list_reads_every_rows_workflows_at_once(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    token = await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    for _ in range(2):
        await _trigger(client, token)
    with counting_statements(store) as two:
        html = (await client.get("/pipelines/gh/acme/app")).text
    for _ in range(4):
        await _trigger(client, token)
    with counting_statements(store) as six:
        more = (await client.get("/pipelines/gh/acme/app")).text
    # one read of the workflows however many rows (the app's background loops run other statements)
    workflow_reads = [[q for q in seen if "FROM workflows" in q] for seen in (two, six)]
    assert [len(reads) for reads in workflow_reads] == [1, 1]
    assert html.count('data-pipeline="') == 2 and more.count('data-pipeline="') == 6
    for number in range(1, 7):
        row = _section(more, "data-pipeline", str(number))
        assert ">main</a>" in row  # each row lists its own workflow


async def test_pages_say_how_long_the_server_took(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    response = await client.get("/pipelines/gh/acme/app")
    assert re.fullmatch(r"app;dur=\d+\.\d", response.headers["server-timing"])


_CONFIG_COLUMNS = ("config_source", "config_compiled", "setup_config")


def _pipeline_reads(seen: list[str]) -> list[str]:
    return [q for q in seen if "FROM pipelines" in q]


async def test_the_pipelines_list_and_its_stream_leave_the_config_texts_unread(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    token = await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    await _trigger(client, token)
    api = {"Circle-Token": token}
    pipeline = (await client.get("/api/v2/project/gh/acme/app/pipeline", headers=api)).json()["items"][0]
    for workflow in (await client.get(f"/api/v2/pipeline/{pipeline['id']}/workflow", headers=api)).json()[
        "items"
    ]:
        assert (
            await client.post(f"/api/v2/workflow/{workflow['id']}/cancel", headers=api)
        ).status_code == 202
    with counting_statements(store) as listed:
        html = (await client.get("/pipelines/gh/acme/app")).text
        async with asyncio.timeout(20):
            streamed = (await client.get("/pipelines/gh/acme/app/live")).text
        cards = (await client.get("/")).text
    with counting_statements(store) as config_page:
        config = (await client.get("/pipelines/gh/acme/app/1/config")).text
    assert 'data-pipeline="1"' in html and "Canceled" in html
    assert "event: swap" in streamed and "event: end" in streamed and "Canceled" in streamed
    assert "#1</span>" in cards  # the project card shows its latest pipeline
    reads = _pipeline_reads(listed)
    assert len(reads) >= 3  # the list, the stream's read, the project card
    assert not [q for q in reads if any(c in q for c in _CONFIG_COLUMNS)]
    # the config page still reads them (and shows them), so the check above sees them when read
    assert any("config_source" in q for q in _pipeline_reads(config_page))
    assert "cimg/base:stable" in config


SETUP_CONFIG = """\
version: 2.1
setup: true
jobs:
  generate: {docker: [{image: cimg/base:stable}], steps: [{run: echo generating}]}
workflows:
  setup: {jobs: [generate]}
"""
CONTINUED_CONFIG = """\
version: 2.1
jobs:
  say: {docker: [{image: cimg/base:stable}], steps: [{run: echo continued}]}
workflows:
  continued: {jobs: [say]}
"""


def _pre(html: str, element_id: str) -> str:
    match = re.search(rf'<pre class="code" id="{element_id}">(.*?)</pre>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


async def test_a_setup_pipelines_config_page_shows_the_setup_pair_beside_the_continued_config(
    client: httpx.AsyncClient,
    store: Store,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    token = await _project_with_user(client, make_user, make_repo, make_project, SETUP_CONFIG)
    pipeline = await _trigger(client, token)
    pending = (await client.get("/pipelines/gh/acme/app/1/config")).text
    assert "echo generating" in _pre(pending, "config-setup-source")
    assert "echo generating" in _pre(pending, "config-setup-compiled")
    assert "Not continued (yet)" in pending
    async with store.transaction() as tx:  # the clear key only reaches the setup job: set a known one
        await pipeline_store.set_continuation_key(tx, PipelineId(pipeline["id"]), key_hash("known-key"))
    continued = await client.post(
        "/api/v2/pipeline/continue",
        json={"continuation-key": "known-key", "configuration": CONTINUED_CONFIG},
    )
    assert continued.status_code == 200, continued.text
    api = (
        await client.get(f"/api/v2/pipeline/{pipeline['id']}/config", headers={"Circle-Token": token})
    ).json()
    html = (await client.get("/pipelines/gh/acme/app/1/config")).text
    assert "Continued source" in html and "Not continued" not in html
    assert "echo continued" in _pre(html, "config-source") and "echo continued" in _pre(
        html, "config-compiled"
    )
    assert _pre(html, "config-setup-source") == str(escape(api["setup-config"]))
    assert _pre(html, "config-setup-compiled") == str(escape(api["compiled-setup-config"]))
    assert "echo generating" in api["compiled-setup-config"]


async def test_a_plain_pipelines_config_page_has_no_setup_pair(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    token = await _project_with_user(client, make_user, make_repo, make_project, PLAN_CONFIG)
    await _trigger(client, token)
    html = (await client.get("/pipelines/gh/acme/app/1/config")).text
    assert "cimg/base:stable" in _pre(html, "config-compiled")
    assert 'id="config-setup' not in html and "Continued source" not in html
