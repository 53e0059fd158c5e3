"""The v1.1 subset through the real app: me, projects, recent builds, legacy triggers with build
parameters, cancel and retry, artifacts and tests; Basic auth with the token as username."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.conftest import MakeProject, MakeRepo, MakeUser, wait_for

V1 = "/api/v1.1"
V2 = "/api/v2"

CONFIG = """\
version: 2.1
parameters:
  greeting:
    type: string
    default: hello
  loud:
    type: boolean
    default: false
  pause:
    type: integer
    default: 0
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "<< pipeline.parameters.greeting >> loud=<< pipeline.parameters.loud >>" && sleep << pipeline.parameters.pause >>
  test:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: mkdir -p out results && echo hi > out/report.txt && echo '@JUNIT@' > results/junit.xml
      - store_artifacts: {path: out}
      - store_test_results: {path: results}
workflows:
  main:
    jobs:
      - build
      - test: {requires: [build]}
""".replace(
    "@JUNIT@",
    '<testsuite><testcase classname="a.B" name="works" time="0.5"/>'
    '<testcase classname="a.B" name="breaks"><failure message="no"/></testcase></testsuite>',
)


def basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


def _done(builds: Any) -> bool:
    return bool(builds) and all(b["lifecycle"] == "finished" for b in builds)


async def test_me_projects_and_auth(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user("carol")
    await make_project(make_repo(CONFIG))
    assert (await client.get(f"{V1}/me")).status_code == 401
    me = (await client.get(f"{V1}/me", headers=basic(account.token))).json()
    assert me["login"] == "carol" and me["organizations"] == [{"login": "acme", "vcs_type": "github"}]
    projects = (await client.get(f"{V1}/projects", headers=basic(account.token))).json()
    assert [(p["username"], p["reponame"], p["vcs_type"]) for p in projects] == [("acme", "app", "github")]
    stranger = await make_user(org="gh/other")
    assert (await client.get(f"{V1}/projects", headers=basic(stranger.token))).json() == []
    assert (
        await client.get(f"{V1}/project/github/acme/app", headers=basic(stranger.token))
    ).status_code == 404


async def test_legacy_triggers_recent_builds_cancel_and_retry(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    auth = basic(account.token)
    await make_project(make_repo(CONFIG))
    await runner()
    triggered = await client.post(
        f"{V1}/project/github/acme/app/tree/main",
        headers=auth,
        json={
            "build_parameters": {
                "greeting": "bonjour",
                "loud": "true",
                "CIRCLE_JOB": "build",
                "UNDECLARED": "x",
            }
        },
    )
    assert triggered.status_code == 201, triggered.text
    assert triggered.headers["Deprecation"] == "true"
    assert triggered.headers["Link"].endswith(
        '/api/v2/project/gh/acme/app/pipeline>; rel="successor-version"'
    )
    summary = triggered.json()
    assert summary["build_num"] == 1 and summary["branch"] == "main" and summary["vcs_type"] == "github"
    pipeline = (
        await client.get(f"{V2}/pipeline/{summary['pipeline']['id']}", headers=account.headers)
    ).json()
    assert pipeline["trigger_parameters"] == {"greeting": "bonjour", "loud": True}

    builds = await wait_for(client, f"{V1}/project/github/acme/app", auth, _done)
    assert [(b["build_num"], b["status"], b["outcome"]) for b in builds] == [
        (2, "success", "success"),
        (1, "success", "success"),
    ]
    assert builds[0]["workflows"]["job_name"] == "test" and builds[0]["build_url"].endswith("/jobs/2")
    output = (await client.get(f"{V1}/project/github/acme/app/1", headers=auth)).json()
    action_url = output["steps"][-1]["actions"][0]["output_url"]
    assert "bonjour loud=true" in (await client.get(action_url, headers=auth)).json()[0]["message"]

    build = await client.post(f"{V1}/project/github/acme/app/build", headers=auth, json={"branch": "main"})
    assert build.status_code == 200 and build.json() == {"status": 200, "body": "Build created"}
    assert build.headers["Deprecation"] == "true"
    plain = await client.post(
        f"{V1}/project/github/acme/app", headers=auth, json={"revision": pipeline["vcs"]["revision"]}
    )
    assert plain.status_code == 201 and plain.json()["build_num"] == 5
    unknown_branch = await client.post(f"{V1}/project/github/acme/app/tree/nope", headers=auth)
    assert unknown_branch.status_code == 400
    builds = await wait_for(
        client, f"{V1}/project/github/acme/app?limit=100", auth, lambda b: len(b) == 6 and _done(b)
    )
    assert [b["build_num"] for b in builds] == [6, 5, 4, 3, 2, 1]

    page = (
        await client.get(
            f"{V1}/project/github/acme/app", params={"limit": 2, "offset": 1, "shallow": "true"}, headers=auth
        )
    ).json()
    assert [b["build_num"] for b in page] == [5, 4] and "workflows" not in page[0]
    assert (
        await client.get(f"{V1}/project/github/acme/app", params={"filter": "failed"}, headers=auth)
    ).json() == []
    assert (
        len(
            (
                await client.get(
                    f"{V1}/project/github/acme/app", params={"filter": "successful"}, headers=auth
                )
            ).json()
        )
        == 6
    )
    assert (
        await client.get(f"{V1}/project/github/acme/app", params={"filter": "bogus"}, headers=auth)
    ).status_code == 400
    assert len((await client.get(f"{V1}/project/github/acme/app/tree/main", headers=auth)).json()) == 6
    assert (await client.get(f"{V1}/project/github/acme/app/tree/other", headers=auth)).json() == []
    recent = (await client.get(f"{V1}/recent-builds", params={"limit": 3}, headers=auth)).json()
    assert [b["build_num"] for b in recent] == [6, 5, 4]

    assert (await client.get(f"{V1}/project/github/acme/app/1/artifacts", headers=auth)).json() == []
    assert (await client.get(f"{V1}/project/github/acme/app/1/tests", headers=auth)).json() == {"tests": []}
    stored = (await client.get(f"{V1}/project/github/acme/app/2/artifacts", headers=auth)).json()
    assert [(a["path"], a["node_index"]) for a in stored] == [("out/report.txt", 0)]
    assert (await client.get(stored[0]["url"], headers=auth)).text == "hi\n"
    cases = (await client.get(f"{V1}/project/github/acme/app/2/tests", headers=auth)).json()["tests"]
    assert sorted((c["name"], c["result"], c["classname"]) for c in cases) == [
        ("breaks", "failure", "a.B"),
        ("works", "success", "a.B"),
    ]

    retried = await client.post(f"{V1}/project/github/acme/app/1/retry", headers=auth)
    assert retried.status_code == 200, retried.text
    assert retried.json()["build_num"] == 7 and retried.json()["workflows"]["job_name"] == "build"
    builds = await wait_for(
        client, f"{V1}/project/github/acme/app?limit=3", auth, lambda b: b[0]["build_num"] == 8 and _done(b)
    )
    assert [b["status"] for b in builds[:2]] == ["success", "success"]

    slow = await client.post(
        f"{V1}/project/github/acme/app/tree/main", headers=auth, json={"build_parameters": {"pause": "60"}}
    )
    number = slow.json()["build_num"]
    await wait_for(client, f"{V1}/project/github/acme/app/{number}", auth, lambda b: b["status"] == "running")
    canceled = await client.post(f"{V1}/project/github/acme/app/{number}/cancel", headers=auth)
    assert (
        canceled.status_code == 200
        and canceled.json()["status"] == "canceled"
        and canceled.json()["build_num"] == number
    )
    after = (await client.get(f"{V1}/project/github/acme/app/{number}", headers=auth)).json()
    assert after["status"] == "canceled"
