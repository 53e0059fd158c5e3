"""Setup workflows and continuation through the real app, a real database, git repos and a real runner.

The setup jobs call ``POST /api/v2/pipeline/continue`` from their steps with curl, so these tests serve
the app on a real port (HTTPS for the orb, as the published orbs only speak ``https://``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from circlet.engine import accounts, orb_registry
from circlet.protocol import LEASE_HEADER
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser, git, wait_for
from tests.integration.config.servers import self_signed, serve

V2 = "/api/v2"
HERE = Path(__file__).parent

CONTINUED = """\
version: 2.1
parameters:
  greeting:
    type: string
    default: unset
jobs:
  say:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "<< pipeline.parameters.greeting >> on $CIRCLE_BRANCH" && test -z "$CIRCLE_CONTINUATION_KEY"
workflows:
  continued:
    jobs: [say]
"""

SETUP_WITH_CURL = """\
version: 2.1
setup: true
jobs:
  generate:
    docker: [{image: cimg/base:stable}]
    environment:
      CIRCLET_URL: http://127.0.0.1:%(port)d
    steps:
      - checkout
      - run:
          name: show key
          command: echo "key=$CIRCLE_CONTINUATION_KEY"
      - run:
          name: continue
          command: |
            jq -n --arg key "$CIRCLE_CONTINUATION_KEY" --rawfile config .circleci/continue.yml \\
              '{"continuation-key": $key, configuration: $config, parameters: {greeting: "bonjour"}}' > ../body.json
            curl -sf -X POST -H 'Content-Type: application/json' --data @../body.json \\
              "$CIRCLET_URL/api/v2/pipeline/continue"
workflows:
  setup:
    jobs: [generate]
"""

SETUP_WITH_ORB = """\
version: 2.1
setup: true
orbs:
  continuation: circleci/continuation@1
workflows:
  setup:
    jobs:
      - continuation/continue:
          configuration_path: .circleci/continue.yml
          parameters: '{"greeting": "from the orb"}'
          circleci_domain: localhost:%(port)d
"""

SETUP_WITH_PATH_FILTERING = """\
version: 2.1
setup: true
orbs:
  path-filtering: circleci/path-filtering@2
workflows:
  setup:
    jobs:
      - path-filtering/filter:
          base-revision: main
          config-path: .circleci/continue.yml
          output-path: ../pipeline-parameters.json
          mapping: |
            src/.* build-code true
            docs/.* build-docs true
          circleci_domain: localhost:%(port)d
"""

CONTINUED_BY_PATH = """\
version: 2.1
parameters:
  build-code: {type: boolean, default: false}
  build-docs: {type: boolean, default: false}
jobs:
  code:
    docker: [{image: cimg/base:stable}]
    steps: [{run: echo "building the code"}]
  docs:
    docker: [{image: cimg/base:stable}]
    steps: [{run: echo "building the docs"}]
workflows:
  code:
    when: << pipeline.parameters.build-code >>
    jobs: [code]
  docs:
    when: << pipeline.parameters.build-docs >>
    jobs: [docs]
"""

SETUP_THAT_STOPS = """\
version: 2.1
setup: true
jobs:
  decide:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "nothing to continue"
workflows:
  setup:
    jobs: [decide]
"""


async def _trigger(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post(
        f"{V2}/project/gh/acme/app/pipeline", headers=headers, json={"branch": "main"}
    )
    assert response.status_code == 201, response.text
    pipeline_id: str = response.json()["id"]
    return pipeline_id


async def _workflows(client: httpx.AsyncClient, pipeline_id: str, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = (await client.get(f"{V2}/pipeline/{pipeline_id}/workflow", headers=headers)).json()[
        "items"
    ]
    return items


async def _output(client: httpx.AsyncClient, build_num: int, headers: dict[str, str]) -> str:
    details = (await client.get(f"/api/v1.1/project/gh/acme/app/{build_num}", headers=headers)).json()
    text = []
    for step in details["steps"]:
        for action in step["actions"]:
            if action["has_output"]:
                chunks = (await client.get(action["output_url"], headers=headers)).json()
                text += [c["message"] for c in chunks]
    return "".join(text)


async def _wait_done(client: httpx.AsyncClient, pipeline_id: str, headers: dict[str, str], count: int) -> Any:
    body = await wait_for(
        client,
        f"{V2}/pipeline/{pipeline_id}/workflow",
        headers,
        lambda b: (
            len(b["items"]) == count and all(w["status"] not in ("running", "on_hold") for w in b["items"])
        ),
    )
    return body["items"]


class FakeRunner:
    """The test itself speaks the runner protocol, to read what a setup job receives."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    async def claim(self) -> Any:
        response = await self.client.post(
            "/runner/v1/claim",
            headers=self.headers,
            json={"resource_class": "*", "runner_name": "test", "wait_s": 2},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def finish(self, task: Any, status: str = "success") -> None:
        response = await self.client.post(
            f"/runner/v1/tasks/{task['task_id']}/finish",
            headers={**self.headers, LEASE_HEADER: task["lease_id"]},
            json={"status": status},
        )
        assert response.status_code == 200, response.text


async def _fake_runner(store: Store, client: httpx.AsyncClient) -> FakeRunner:
    async with store.transaction() as tx:
        token = await accounts.create_runner_token(tx, "*")
    return FakeRunner(client, token)


async def test_setup_job_continues_the_pipeline_with_its_key(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
) -> None:
    account = await make_user()
    async with serve(app) as port:
        setup = SETUP_WITH_CURL % {"port": port}
        await make_project(make_repo(setup, {".circleci/continue.yml": CONTINUED}))
        await runner()
        pipeline_id = await _trigger(client, account.headers)
        assert (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()[
            "state"
        ] == "setup-pending"
        workflows = await _wait_done(client, pipeline_id, account.headers, count=2)
    by_name = {w["name"]: w for w in workflows}
    assert by_name["setup"]["tag"] == "setup"
    assert by_name["setup"]["status"] == "success"
    assert by_name["continued"]["status"] == "success"
    assert by_name["continued"]["tag"] is None
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert pipeline["state"] == "created"
    assert pipeline["errors"] == []
    config = (await client.get(f"{V2}/pipeline/{pipeline_id}/config", headers=account.headers)).json()
    assert config["setup-config"] == setup
    assert config["source"] == CONTINUED
    assert "bonjour" in config["compiled"]
    assert "  say:\n" in config["compiled"] and "generate" not in config["compiled"]
    compiled_setup = config["compiled-setup-config"]
    assert compiled_setup.startswith("version: 2\n") and "  generate:\n" in compiled_setup
    assert "  say:\n" not in compiled_setup
    setup_log = await _output(client, 1, account.headers)
    assert "key=********\n" in setup_log, setup_log
    assert "Accepted." in setup_log
    assert "bonjour on main" in await _output(client, 2, account.headers)


async def test_continuation_orb_posts_to_the_domain_it_is_given(
    app: FastAPI,
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
    tmp_path: Path,
) -> None:
    account = await make_user()
    async with store.transaction() as tx:
        await orb_registry.publish(
            tx, "circleci/continuation@1.0.0", (HERE / "continuation-orb.yml").read_text()
        )
    cert, key = self_signed(tmp_path)
    async with serve(app, tls=(cert, key)) as port:
        await make_project(make_repo(SETUP_WITH_ORB % {"port": port}, {".circleci/continue.yml": CONTINUED}))
        response = await client.post(
            f"{V2}/project/gh/acme/app/envvar",
            headers=account.headers,
            json={"name": "CURL_CA_BUNDLE", "value": str(cert)},
        )
        assert response.status_code == 201, response.text
        await runner()
        pipeline_id = await _trigger(client, account.headers)
        workflows = await _wait_done(client, pipeline_id, account.headers, count=2)
    assert sorted((w["name"], w["status"]) for w in workflows) == [
        ("continued", "success"),
        ("setup", "success"),
    ]
    assert "from the orb on main" in await _output(client, 2, account.headers)


async def test_path_filtering_orb_continues_with_the_workflows_of_the_changed_paths(
    app: FastAPI,
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner: Any,
    tmp_path: Path,
) -> None:
    account = await make_user()
    async with store.transaction() as tx:
        for ref, file in (
            ("circleci/continuation@1.0.0", "continuation-orb.yml"),
            ("circleci/path-filtering@2.0.4", "path-filtering-orb.yml"),
        ):
            await orb_registry.publish(tx, ref, (HERE / file).read_text())
    cert, key = self_signed(tmp_path)
    async with serve(app, tls=(cert, key)) as port:
        repo = make_repo(
            SETUP_WITH_PATH_FILTERING % {"port": port},
            {".circleci/continue.yml": CONTINUED_BY_PATH, "docs/index.md": "docs\n", "src/app.py": "x = 1\n"},
        )
        git(repo, "checkout", "-q", "-b", "feature")
        (repo / "src" / "app.py").write_text("x = 2\n")
        git(repo, "commit", "-q", "-am", "Change the code only")
        await make_project(repo)
        response = await client.post(
            f"{V2}/project/gh/acme/app/envvar",
            headers=account.headers,
            json={"name": "CURL_CA_BUNDLE", "value": str(cert)},
        )
        assert response.status_code == 201, response.text
        await runner()
        triggered = await client.post(
            f"{V2}/project/gh/acme/app/pipeline", headers=account.headers, json={"branch": "feature"}
        )
        assert triggered.status_code == 201, triggered.text
        pipeline_id = triggered.json()["id"]
        workflows = await _wait_done(client, pipeline_id, account.headers, count=2)
    assert sorted((w["name"], w["status"]) for w in workflows) == [("code", "success"), ("setup", "success")]
    setup_log = await _output(client, 1, account.headers)
    assert "Changed since main:\nsrc/app.py\n" in setup_log, setup_log
    assert '"build-code": true' in setup_log
    assert "building the code" in await _output(client, 2, account.headers)
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert pipeline["state"] == "created"
    config = (await client.get(f"{V2}/pipeline/{pipeline_id}/config", headers=account.headers)).json()
    assert config["source"] == CONTINUED_BY_PATH
    assert "\n  code:\n" in config["compiled"] and "\n  docs:\n" not in config["compiled"]
    assert "path-filtering" in config["compiled-setup-config"]


async def _setup_pipeline(
    client: httpx.AsyncClient, make_repo: MakeRepo, make_project: MakeProject, headers: dict[str, str]
) -> str:
    await make_project(make_repo(SETUP_THAT_STOPS))
    return await _trigger(client, headers)


async def test_setup_task_gets_the_key_as_a_masked_secret_and_it_works_once(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    pipeline_id = await _setup_pipeline(client, make_repo, make_project, account.headers)
    fake = await _fake_runner(store, client)
    task = await fake.claim()
    key = task["environment"]["CIRCLE_CONTINUATION_KEY"]
    assert len(key) >= 32
    assert key in task["secrets"]
    body = {"continuation-key": key, "configuration": CONTINUED, "parameters": {"greeting": "hi"}}
    first = await client.post(f"{V2}/pipeline/continue", json=body)  # no user token: the key is enough
    assert first.status_code == 200, first.text
    assert first.json() == {"message": "Accepted."}
    again = await client.post(f"{V2}/pipeline/continue", json=body, headers=account.headers)
    assert again.status_code == 400
    assert "continuation key" in again.json()["message"]
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert pipeline["state"] == "created"
    names = sorted(w["name"] for w in await _workflows(client, pipeline_id, account.headers))
    assert names == ["continued", "setup"]
    say = await fake.claim()  # the continued workflow's job: no key for it
    assert say["job_name"] == "say"
    assert "CIRCLE_CONTINUATION_KEY" not in say["environment"]
    await fake.finish(task)
    await fake.finish(say)
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert pipeline["state"] == "created"  # the setup workflow ending after continuing changes nothing


async def test_unknown_key_and_bad_token_are_refused(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    outsider = await make_user(org="gh/other")
    await _setup_pipeline(client, make_repo, make_project, account.headers)
    key = (await (await _fake_runner(store, client)).claim())["environment"]["CIRCLE_CONTINUATION_KEY"]
    body = {"continuation-key": key, "configuration": CONTINUED}
    unknown = await client.post(f"{V2}/pipeline/continue", json={**body, "continuation-key": "nope" * 8})
    assert unknown.status_code == 400
    bad_token = await client.post(f"{V2}/pipeline/continue", json=body, headers={"Circle-Token": "bad"})
    assert bad_token.status_code == 401
    foreign = await client.post(f"{V2}/pipeline/continue", json=body, headers=outsider.headers)
    assert foreign.status_code == 404
    missing = await client.post(f"{V2}/pipeline/continue", json={"configuration": CONTINUED})
    assert missing.status_code == 400
    ok = await client.post(f"{V2}/pipeline/continue", json=body, headers=account.headers)
    assert ok.status_code == 200, ok.text  # the refusals above did not spend the key


async def test_invalid_continued_config_errors_the_pipeline_and_spends_the_key(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    pipeline_id = await _setup_pipeline(client, make_repo, make_project, account.headers)
    key = (await (await _fake_runner(store, client)).claim())["environment"]["CIRCLE_CONTINUATION_KEY"]
    broken = "version: 2.1\nworkflows:\n  w:\n    jobs: [nowhere]\n"
    response = await client.post(
        f"{V2}/pipeline/continue", json={"continuation-key": key, "configuration": broken}
    )
    assert response.status_code == 400
    assert "nowhere" in response.json()["message"]
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert pipeline["state"] == "errored"
    assert pipeline["errors"][0]["type"] == "config"
    config = (await client.get(f"{V2}/pipeline/{pipeline_id}/config", headers=account.headers)).json()
    assert config["source"] == broken
    assert config["compiled"] == ""
    assert config["setup-config"] == SETUP_THAT_STOPS
    assert "  decide:\n" in config["compiled-setup-config"]
    again = await client.post(
        f"{V2}/pipeline/continue", json={"continuation-key": key, "configuration": CONTINUED}
    )
    assert again.status_code == 400


async def test_setup_workflow_ending_without_continuing_errors_the_pipeline(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    pipeline_id = await _setup_pipeline(client, make_repo, make_project, account.headers)
    config = (await client.get(f"{V2}/pipeline/{pipeline_id}/config", headers=account.headers)).json()
    assert config["setup-config"] == config["source"] == SETUP_THAT_STOPS
    assert config["compiled-setup-config"] == config["compiled"]
    assert "  decide:\n" in config["compiled"]
    fake = await _fake_runner(store, client)
    task = await fake.claim()
    key = task["environment"]["CIRCLE_CONTINUATION_KEY"]
    await fake.finish(task)
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert pipeline["state"] == "errored"
    assert pipeline["errors"] == [
        {
            "type": "other",
            "message": "The setup workflow finished (success) without continuing the pipeline: no job "
            "posted its CIRCLE_CONTINUATION_KEY to /api/v2/pipeline/continue.",
        }
    ]
    late = await client.post(
        f"{V2}/pipeline/continue", json={"continuation-key": key, "configuration": CONTINUED}
    )
    assert late.status_code == 400
    assert [w["status"] for w in await _workflows(client, pipeline_id, account.headers)] == ["success"]


SETUP_WITH_GREETING = """\
version: 2.1
setup: true
parameters:
  greeting: {type: string, default: hello}
jobs:
  decide:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "<< pipeline.parameters.greeting >>"
workflows:
  setup:
    jobs: [decide]
"""


async def test_a_parameter_both_configs_declare_and_the_trigger_changed_conflicts(
    store: Store,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
) -> None:
    account = await make_user()
    await make_project(make_repo(SETUP_WITH_GREETING))
    triggered = await client.post(
        f"{V2}/project/gh/acme/app/pipeline",
        headers=account.headers,
        json={"branch": "main", "parameters": {"greeting": "bonjour"}},
    )
    assert triggered.status_code == 201, triggered.text
    key = (await (await _fake_runner(store, client)).claim())["environment"]["CIRCLE_CONTINUATION_KEY"]
    body = {"continuation-key": key, "configuration": CONTINUED, "parameters": {"greeting": "hi"}}
    conflict = await client.post(f"{V2}/pipeline/continue", json=body)
    assert conflict.status_code == 400
    assert conflict.json() == {"message": "Conflicting pipeline parameters."}
    ok = await client.post(f"{V2}/pipeline/continue", json={**body, "parameters": {}})
    assert ok.status_code == 200, ok.text  # the refusal did not spend the key
    pipeline = (await client.get(f"{V2}/pipeline/{triggered.json()['id']}", headers=account.headers)).json()
    assert pipeline["state"] == "created"


async def test_setup_config_that_runs_no_workflow_creates_an_empty_pipeline(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    only_main = SETUP_THAT_STOPS.replace(
        "jobs: [decide]", "jobs: [{decide: {filters: {branches: {only: main}}}}]"
    )
    repo = make_repo(only_main)
    git(repo, "checkout", "-q", "-b", "feature")
    await make_project(repo)
    triggered = await client.post(
        f"{V2}/project/gh/acme/app/pipeline", headers=account.headers, json={"branch": "feature"}
    )
    assert triggered.status_code == 201, triggered.text
    pipeline_id = triggered.json()["id"]
    pipeline = (await client.get(f"{V2}/pipeline/{pipeline_id}", headers=account.headers)).json()
    assert (pipeline["state"], pipeline["errors"]) == ("created", [])  # not setup-pending forever
    assert await _workflows(client, pipeline_id, account.headers) == []
    config = (await client.get(f"{V2}/pipeline/{pipeline_id}/config", headers=account.headers)).json()
    assert config["setup-config"] == only_main
