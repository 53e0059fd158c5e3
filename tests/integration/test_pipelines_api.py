"""The core loop through the real app, a real database, real git repos and a real runner."""

from __future__ import annotations

import base64

import httpx

from tests.conftest import MakeProject, MakeRepo, MakeUser, wait_for

HELLO = """\
version: 2.1
parameters:
  greeting:
    type: string
    default: hello
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - checkout
      - run: echo "<< pipeline.parameters.greeting >> $CIRCLE_PROJECT_REPONAME $CIRCLE_BRANCH" && test -f README.md
  test:
    docker: [{image: cimg/base:stable}]
    steps:
      - run:
          name: env
          command: env | sort
workflows:
  main:
    jobs:
      - build
      - test: {requires: [build]}
"""

V2 = "/api/v2"


async def test_no_or_bad_token_is_401_json(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V2}/me")
    assert response.status_code == 401
    assert response.json() == {"message": "You must log in first."}
    response = await client.get(f"{V2}/me", headers={"Circle-Token": "nope"})
    assert response.status_code == 401
    assert "message" in response.json()


async def test_token_accepted_as_header_basic_and_query(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    account = await make_user("alice")
    basic = base64.b64encode(f"{account.token}:".encode()).decode()
    for kwargs in (
        {"headers": {"Circle-Token": account.token}},
        {"headers": {"Authorization": f"Basic {basic}"}},
        {"params": {"circle-token": account.token}},
        {"headers": {"Circle-Token": account.token, "Authorization": f"Basic {basic}"}},
    ):
        response = await client.get(f"{V2}/me", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, kwargs
        assert response.json() == {"id": account.user_id, "login": "alice", "name": "Alice"}
    collabs = (await client.get(f"{V2}/me/collaborations", headers=account.headers)).json()
    assert [c["slug"] for c in collabs] == ["gh/acme"]
    assert collabs[0]["vcs-type"] == "github"


async def test_trigger_runs_workflow_to_success(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    repo = make_repo(HELLO, {"README.md": "hi"})
    await make_project(repo)
    await runner()
    response = await client.post(
        f"{V2}/project/gh/acme/app/pipeline",
        headers=account.headers,
        json={"branch": "main", "parameters": {"greeting": "bonjour"}, "unknown": 1},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "state", "number", "created_at"}
    assert created["number"] == 1 and created["state"] == "created"
    workflows = await wait_for(
        client,
        f"{V2}/pipeline/{created['id']}/workflow",
        account.headers,
        lambda body: body["items"] and body["items"][0]["status"] not in ("running", "failing"),
    )
    assert workflows["next_page_token"] is None
    workflow = workflows["items"][0]
    assert workflow["status"] == "success", workflow
    assert workflow["name"] == "main" and workflow["pipeline_number"] == 1
    jobs = (await client.get(f"{V2}/workflow/{workflow['id']}/job", headers=account.headers)).json()["items"]
    by_name = {j["name"]: j for j in jobs}
    assert [by_name["build"]["job_number"], by_name["test"]["job_number"]] == [1, 2]
    assert by_name["test"]["dependencies"] == [by_name["build"]["id"]]
    assert all(j["status"] == "success" for j in jobs)

    pipeline = (await client.get(f"{V2}/pipeline/{created['id']}", headers=account.headers)).json()
    assert pipeline["vcs"]["branch"] == "main"
    assert pipeline["vcs"]["commit"] == {"subject": "Initial commit", "body": "With a body."}
    assert pipeline["trigger"]["type"] == "api" and pipeline["trigger"]["actor"]["login"] == account.login
    assert pipeline["trigger_parameters"] == {"greeting": "bonjour"}
    assert pipeline["updated_at"]

    detail = (await client.get(f"{V2}/project/gh/acme/app/job/1", headers=account.headers)).json()
    assert detail["status"] == "success" and detail["name"] == "build" and detail["duration"] is not None

    build = (await client.get("/api/v1.1/project/github/acme/app/1", headers=account.headers)).json()
    assert build["build_num"] == 1 and build["status"] == "success" and build["vcs_type"] == "github"
    assert build["workflows"]["workflow_id"] == workflow["id"] and build["workflows"]["job_name"] == "build"
    names = [s["name"] for s in build["steps"]]
    assert names[0] == "Checkout code"
    action = build["steps"][1]["actions"][0]
    assert action["failed"] is False and action["exit_code"] == 0 and action["status"] == "success"
    output = (await client.get(action["output_url"], headers=account.headers)).json()
    assert "bonjour app main" in output[0]["message"]
    raw = await client.get("/api/private/output/raw/github/acme/app/1/output/0/1", headers=account.headers)
    assert "bonjour app main" in raw.text

    env_build = (await client.get("/api/v1.1/project/gh/acme/app/2", headers=account.headers)).json()
    env_text = (
        await client.get(env_build["steps"][0]["actions"][0]["output_url"], headers=account.headers)
    ).json()[0]["message"]
    assert "CIRCLE_BUILD_NUM=2" in env_text and "CIRCLE_JOB=test" in env_text and "CIRCLECI=true" in env_text
    assert f"CIRCLE_WORKFLOW_ID={workflow['id']}" in env_text
    assert "CIRCLET_" not in env_text and account.token not in env_text


async def test_other_orgs_see_404(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    owner = await make_user()
    stranger = await make_user(org="gh/other")
    await make_project(make_repo(HELLO))
    created = (await client.post(f"{V2}/project/gh/acme/app/pipeline", headers=owner.headers)).json()
    for url in (
        f"{V2}/project/gh/acme/app",
        f"{V2}/pipeline/{created['id']}",
        f"{V2}/project/gh/acme/app/pipeline",
        f"{V2}/project/gh/acme/app/job/1",
        f"{V2}/pipeline/{created['id']}/workflow",
    ):
        response = await client.get(url, headers=stranger.headers)
        assert response.status_code == 404, url
        assert "message" in response.json()
    missing = await client.get(f"{V2}/project/gh/acme/nothing", headers=owner.headers)
    assert missing.status_code == 404


async def test_slug_forms(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    await make_project(make_repo(HELLO))
    for slug in ("gh/acme/app", "github/acme/app", "github%2Facme%2Fapp"):
        response = await client.get(f"{V2}/project/{slug}", headers=account.headers)
        assert response.status_code == 200, slug
        assert response.json()["slug"] == "gh/acme/app"
    listed = await client.get(f"{V2}/pipeline", params={"org-slug": "github/acme"}, headers=account.headers)
    assert listed.status_code == 200


async def test_config_errors_make_errored_pipelines(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    bad = "version: 2.1\njobs:\n  a:\n    docker: [{image: x}]\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n      - a:\n          requires: [ghost]\n"
    await make_project(make_repo(bad))
    response = await client.post(f"{V2}/project/gh/acme/app/pipeline", headers=account.headers)
    assert response.status_code == 201
    pipeline = (await client.get(f"{V2}/pipeline/{response.json()['id']}", headers=account.headers)).json()
    assert pipeline["state"] == "errored"
    assert pipeline["errors"][0]["type"] == "config"
    assert (
        "ghost" in pipeline["errors"][0]["message"]
        and ".circleci/config.yml" in pipeline["errors"][0]["message"]
    )
    config = (await client.get(f"{V2}/pipeline/{pipeline['id']}/config", headers=account.headers)).json()
    assert config["source"] == bad


async def test_missing_config_and_unknown_branch(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    await make_project(make_repo(None, {"README.md": "no config"}))
    response = await client.post(f"{V2}/project/gh/acme/app/pipeline", headers=account.headers)
    pipeline = (await client.get(f"{V2}/pipeline/{response.json()['id']}", headers=account.headers)).json()
    assert pipeline["state"] == "errored" and pipeline["errors"][0]["type"] == "config-fetch"
    unknown = await client.post(
        f"{V2}/project/gh/acme/app/pipeline", headers=account.headers, json={"branch": "nope"}
    )
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["message"]
    for field in ("branch", "tag"):  # a NUL byte can be in no git ref (nor in git's argv)
        bad = await client.post(
            f"{V2}/project/gh/acme/app/pipeline", headers=account.headers, json={field: "ma\x00in"}
        )
        assert bad.status_code == 400, bad.text
        assert f"Unknown {field}" in bad.json()["message"]


async def test_undeclared_parameter_errors_pipeline(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    await make_project(make_repo(HELLO))
    response = await client.post(
        f"{V2}/project/gh/acme/app/pipeline", headers=account.headers, json={"parameters": {"nope": 1}}
    )
    pipeline = (await client.get(f"{V2}/pipeline/{response.json()['id']}", headers=account.headers)).json()
    assert pipeline["state"] == "errored"
    assert "nope" in pipeline["errors"][0]["message"]


async def test_pipeline_pages(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    await make_project(make_repo(HELLO))
    for _ in range(23):
        assert (
            await client.post(f"{V2}/project/gh/acme/app/pipeline", headers=account.headers)
        ).status_code == 201
    first = (await client.get(f"{V2}/project/gh/acme/app/pipeline", headers=account.headers)).json()
    assert len(first["items"]) == 20 and first["next_page_token"]
    assert [p["number"] for p in first["items"]] == list(range(23, 3, -1))
    second = (
        await client.get(
            f"{V2}/project/gh/acme/app/pipeline",
            params={"page-token": first["next_page_token"]},
            headers=account.headers,
        )
    ).json()
    assert [p["number"] for p in second["items"]] == [3, 2, 1]
    assert second["next_page_token"] is None
    bad = await client.get(
        f"{V2}/project/gh/acme/app/pipeline", params={"page-token": "!!"}, headers=account.headers
    )
    assert bad.status_code == 400
    by_number = (await client.get(f"{V2}/project/gh/acme/app/pipeline/7", headers=account.headers)).json()
    assert by_number["number"] == 7
    mine = (await client.get(f"{V2}/project/gh/acme/app/pipeline/mine", headers=account.headers)).json()
    assert len(mine["items"]) == 20
