"""What a job asks for and does not get (service containers, a remote Docker engine) is said at the top
of its output, through the real app and a real runner."""

from __future__ import annotations

import httpx

from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.execution.helpers import finished_workflows, trigger, workflow_jobs

CONFIG = """\
version: 2.1
jobs:
  services:
    docker:
      - image: cimg/python:3.12
      - image: cimg/postgres:16.1
        name: db
        environment: {POSTGRES_PASSWORD: secret}
      - image: redis:7
    steps:
      - run: {name: first, command: echo first step}
      - setup_remote_docker
  plain:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo plain
  host:
    machine: true
    steps:
      - run: echo host
workflows:
  main:
    jobs: [services, plain, host]
"""


async def _first_output(client: httpx.AsyncClient, headers: dict[str, str], number: int) -> str:
    build = (await client.get(f"/api/v1.1/project/gh/acme/app/{number}", headers=headers)).json()
    action = build["steps"][0]["actions"][0]
    messages = (await client.get(action["output_url"], headers=headers)).json()
    return "".join(m["message"] for m in messages)


async def test_services_and_remote_docker_are_announced_at_the_top(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    await runner()
    created = await trigger(client, account)
    [workflow] = await finished_workflows(client, account, created["id"])
    assert workflow["status"] == "success"
    jobs = {j["name"]: j for j in await workflow_jobs(client, account, workflow["id"])}

    services = (await _first_output(client, account.headers, jobs["services"]["job_number"])).splitlines()
    assert services[0].startswith("circlet: this job asks for a docker executor (cimg/python:3.12)")
    assert services[1] == (
        "circlet: 2 service containers were NOT started (no container engine): db (cimg/postgres:16.1), "
        "redis:7. Steps run on the runner's host; whatever they expect from them (e.g. a database on "
        "localhost) must already run there."
    )
    assert services[2].startswith("circlet: this job uses setup_remote_docker, but there is no remote Docker")
    assert services[3] == "first step"

    plain = await _first_output(client, account.headers, jobs["plain"]["job_number"])
    assert "NOT started" not in plain and "setup_remote_docker" not in plain
    assert plain.splitlines()[1] == "plain"
    host = await _first_output(client, account.headers, jobs["host"]["job_number"])
    assert host.splitlines() == [
        "circlet: this job asks for a machine executor. There is no container engine here, so its steps run directly on the runner's host.",
        "host",
    ]
