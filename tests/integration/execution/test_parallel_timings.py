"""``parallelism: 2`` on two runners, and ``circleci tests split --split-by=timings`` with the
timings of the project's earlier run (name split when there are none), reproducibly."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import Account, MakeProject, MakeRepo, MakeUser
from tests.integration.execution.helpers import finished_workflows, trigger, workflow_jobs

CONFIG = """\
version: 2.1
jobs:
  test:
    machine: true
    parallelism: 2
    steps:
      - run:
          name: both nodes at once
          command: |
            touch {barrier}/$CIRCLE_NODE_INDEX
            until [ -f {barrier}/0 ] && [ -f {barrier}/1 ]; do sleep 0.05; done
      - run:
          name: split
          command: |
            mkdir -p tests results
            touch tests/a.py tests/b.py tests/c.py tests/d.py
            echo "SPLIT $CIRCLE_NODE_INDEX/$CIRCLE_NODE_TOTAL: $(circleci tests glob 'tests/*.py' | circleci tests split --split-by=timings | tr '\\n' ' ')"
            if [ "$CIRCLE_NODE_INDEX" = 0 ]; then
              cat > results/junit.xml <<'XML'
            <testsuite name="t" tests="4">
              <testcase classname="tests.a" name="test_a" file="tests/a.py" time="9"/>
              <testcase classname="tests.b" name="test_b" file="tests/b.py" time="1"/>
              <testcase classname="tests.c" name="test_c" file="tests/c.py" time="1"/>
              <testcase classname="tests.d" name="test_d" file="tests/d.py" time="7"/>
            </testsuite>
            XML
            fi
      - store_test_results:
          path: results
workflows:
  main:
    jobs: [test]
"""


async def _splits(client: httpx.AsyncClient, account: Account, number: int) -> dict[int, str]:
    build = (await client.get(f"/api/v1.1/project/gh/acme/app/{number}", headers=account.headers)).json()
    step = next(s for s in build["steps"] if s["name"] == "split")
    splits = {}
    for action in step["actions"]:
        text = (await client.get(action["output_url"], headers=account.headers)).json()[0]["message"]
        line = next(line for line in text.splitlines() if line.startswith("SPLIT"))
        splits[action["index"]] = line.split(": ", 1)[1].strip()
    return splits


async def _run(client: httpx.AsyncClient, account: Account, barrier: Path) -> dict[int, str]:
    for marker in barrier.iterdir():
        marker.unlink()
    pipeline = await trigger(client, account)
    workflows = await finished_workflows(client, account, pipeline["id"], timeout_s=60)
    assert workflows[0]["status"] == "success", workflows
    jobs = await workflow_jobs(client, account, workflows[0]["id"])
    assert [j["status"] for j in jobs] == ["success"]
    return await _splits(client, account, jobs[0]["job_number"])


async def test_parallel_nodes_split_by_timings_of_the_previous_run(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    tmp_path: Path,
) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    account = await make_user()
    await make_project(make_repo(CONFIG.replace("{barrier}", str(barrier))))
    await runner(concurrency=1, name="one")
    await runner(concurrency=1, name="two")  # each node needs its own runner to meet the other

    first = await _run(client, account, barrier)
    assert first == {0: "tests/a.py tests/c.py", 1: "tests/b.py tests/d.py"}  # no timings yet: by name

    second = await _run(client, account, barrier)
    assert second == {0: "tests/a.py", 1: "tests/b.py tests/c.py tests/d.py"}  # 9 s | 7 + 1 + 1 s
    assert await _run(client, account, barrier) == second
