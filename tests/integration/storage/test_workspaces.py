"""Workspaces through real runner agents: layers of upstream jobs (transitively, in graph order), on
two runners with different resource classes and work directories."""

from __future__ import annotations

import httpx

from circlet.store import tasks as task_store
from circlet.store.db import Store
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.storage.pipelines import job_log, run_pipeline

CONFIG = """\
version: 2.1
jobs:
  build:
    machine: true
    resource_class: acme/left
    steps:
      - run: mkdir -p out/sub && echo a > out/a.txt && echo first > out/shared.txt && echo s > out/sub/s.txt
      - run: echo skipped > out/not-persisted.log
      - persist_to_workspace:
          root: out
          paths: ["*.txt", sub]
  package:
    machine: true
    resource_class: acme/right
    steps:
      - attach_workspace: {at: ws}
      - run: echo second > ws/shared.txt && echo b > ws/b.txt
      - persist_to_workspace:
          root: ws
          paths: [shared.txt, b.txt]
  deploy:
    machine: true
    resource_class: acme/left
    steps:
      - attach_workspace: {at: /home/circleci/ws}
      - run: cd ~/ws && for f in a.txt b.txt shared.txt sub/s.txt; do echo "$f=$(cat $f)"; done; test ! -e not-persisted.log
  bad:
    machine: true
    resource_class: acme/right
    steps:
      - persist_to_workspace:
          root: .
          paths: [nothing-here/*]
workflows:
  main:
    jobs:
      - build
      - package: {requires: [build]}
      - deploy: {requires: [package]}
      - bad
"""


async def test_layers_reach_downstream_jobs_across_runners(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    store: Store,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    await runner("acme/left", name="left", concurrency=1)
    await runner("acme/right", name="right", concurrency=1)

    jobs = await run_pipeline(client, account)
    assert jobs["build"]["status"] == jobs["package"]["status"] == jobs["deploy"]["status"] == "success"
    deploy = await job_log(client, account, jobs["deploy"]["job_number"])
    # build's layer, then package's on top of it: the later layer wins; deploy sees both (transitively)
    assert "a.txt=a\nb.txt=b\nshared.txt=second\nsub/s.txt=s\n" in deploy, deploy
    assert "Attaching layer from job build" in deploy and "Attaching layer from job package" in deploy
    assert deploy.index("from job build") < deploy.index("from job package")

    bad = await job_log(client, account, jobs["bad"]["job_number"])
    assert jobs["bad"]["status"] == "failed"
    assert "'nothing-here/*' matches nothing under" in bad

    async with store.transaction() as tx:
        for name, runner_name in (("build", "left"), ("package", "right"), ("deploy", "left")):
            (task,) = await task_store.list_tasks(tx, jobs[name]["id"])
            assert task.runner_name == runner_name
