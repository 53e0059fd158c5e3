"""The core loop end to end: ``circlet serve`` and ``circlet runner`` as subprocesses, users and projects
made with the CLI, pipelines triggered and read back over real HTTP (API v2 and v1.1)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import Circlet, Server, wait_until
from tests.conftest import MakeRepo, git

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 120.0  # seconds for a short pipeline to finish (generous: CI machines are shared)
LEASE_S = 3.0  # seconds: the short lease of the killed-runner test
REAPER_S = 0.25  # seconds between reaper passes in that test
REAP_SLACK_S = 3.0  # seconds allowed beyond the lease for the reaper pass and the status reads
FINAL = {"success", "failed", "error", "canceled", "not_run", "unauthorized"}

HELLO = """\
version: 2.1
parameters:
  greeting:
    type: string
    default: hello
jobs:
  build:
    docker:
      - image: cimg/base:stable
    steps:
      - checkout
      - run:
          name: Greet
          command: echo "<< pipeline.parameters.greeting >> from $CIRCLE_PROJECT_REPONAME on $CIRCLE_BRANCH" && cat README.md
      - run:
          name: Environment
          command: env | sort
workflows:
  main:
    jobs:
      - build
"""


def setup_project(circlet: Circlet, make_repo: MakeRepo, config: str) -> tuple[str, Path]:
    """A user in gh/acme (returns its token) and project gh/acme/app backed by a new repo."""
    token = circlet.run("user", "create", "alice", "--org", "gh/acme")
    repo = make_repo(config, {"README.md": "the readme\n"})
    circlet.run("project", "add", "gh/acme/app", "--repo", str(repo))
    return token, repo


def trigger(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v2/project/gh/acme/app/pipeline", json={"branch": "main", **body})
    assert response.status_code == httpx.codes.CREATED, response.text
    created: dict[str, Any] = response.json()
    return created


def workflows(client: httpx.Client, pipeline_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/api/v2/pipeline/{pipeline_id}/workflow").json()["items"]
    return items


def wait_workflows_done(client: httpx.Client, pipeline_id: str) -> list[dict[str, Any]]:
    done: list[dict[str, Any]] = wait_until(
        lambda: workflows(client, pipeline_id),
        lambda items: bool(items) and all(w["status"] in FINAL for w in items),
        timeout_s=RUN_TIMEOUT_S,
        what=f"the workflows of pipeline {pipeline_id}",
    )
    return done


def jobs_by_name(client: httpx.Client, workflow_id: str) -> dict[str, dict[str, Any]]:
    items = client.get(f"/api/v2/workflow/{workflow_id}/job").json()["items"]
    return {j["name"]: j for j in items}


def step_output(client: httpx.Client, action: dict[str, Any]) -> str:
    """The output of one v1.1 step action, read through its ``output_url``."""
    response = client.get(action["output_url"])
    assert response.status_code == httpx.codes.OK, response.text
    return "".join(m["message"] for m in response.json())


def test_serve_with_builtin_runner_runs_a_pipeline(
    circlet: Circlet, make_repo: MakeRepo, tmp_path: Path
) -> None:
    token, repo = setup_project(circlet, make_repo, HELLO)
    server = circlet.serve()
    with server.client(token) as client:
        created = trigger(client, parameters={"greeting": "bonjour"})
        assert created["number"] == 1
        [workflow] = wait_workflows_done(client, created["id"])
        assert workflow["status"] == "success", workflow
        job = jobs_by_name(client, workflow["id"])["build"]
        assert job["status"] == "success"

        details = client.get(f"/api/v1.1/project/gh/acme/app/{job['job_number']}").json()
        assert details["status"] == "success"
        assert details["workflows"]["workflow_id"] == workflow["id"]
        assert details["user"]["login"] == "alice"
        steps = {s["name"]: s["actions"][0] for s in details["steps"]}
        assert [s["name"] for s in details["steps"]][-2:] == ["Greet", "Environment"]
        for action in steps.values():
            assert (action["status"], action["failed"], action["exit_code"]) == ("success", False, 0)

        first = step_output(client, details["steps"][0]["actions"][0])
        assert "no container engine here" in first  # the docker executor runs on the host, and says so
        assert step_output(client, steps["Greet"]) == "bonjour from app on main\nthe readme\n"
        greet_step = steps["Greet"]["step"]
        raw = client.get(f"/api/private/output/raw/gh/acme/app/{job['job_number']}/output/0/{greet_step}")
        assert raw.text == "bonjour from app on main\nthe readme\n"

        env = step_output(client, steps["Environment"])
        assert f"CIRCLE_SHA1={git(repo, 'rev-parse', 'HEAD')}\n" in env
        assert "CIRCLE_BUILD_NUM=1\n" in env
        assert "CIRCLET_" not in env  # nothing of the server's or runner's environment leaks in
        assert token not in env


FAN_OUT = """\
version: 2.1
jobs:
  work:
    parameters:
      n: {type: integer}
    machine: true
    resource_class: acme/linux
    steps:
      - run: echo "$CIRCLE_JOB $CIRCLE_BUILD_NUM" >> LEDGER && sleep 0.2 && echo "ran << parameters.n >>"
workflows:
  main:
    jobs:
      - work: {name: w1, n: 1}
      - work: {name: w2, n: 2}
      - work: {name: w3, n: 3}
      - work: {name: w4, n: 4}
      - work: {name: last, n: 5, requires: [w1, w2, w3, w4]}
"""


def test_separate_runners_take_each_job_of_their_class_once(
    circlet: Circlet, make_repo: MakeRepo, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    token, _ = setup_project(circlet, make_repo, FAN_OUT.replace("LEDGER", str(ledger)))
    server = circlet.serve("--runners", "0")
    runner_token = circlet.run("runner-token", "create", "acme/linux")
    for name in ("r1", "r2"):
        start_runner(circlet, server, runner_token, tmp_path / f"work-{name}", name)
    with server.client(token) as client:
        created = trigger(client)
        [workflow] = wait_workflows_done(client, created["id"])
        assert workflow["status"] == "success", workflow
        jobs = jobs_by_name(client, workflow["id"])
        assert {j["status"] for j in jobs.values()} == {"success"}
        runs = ledger.read_text().splitlines()
        assert sorted(runs) == sorted(f"{name} {j['job_number']}" for name, j in jobs.items())
        details = client.get(f"/api/v1.1/project/gh/acme/app/{jobs['w3']['job_number']}").json()
        assert step_output(client, details["steps"][-1]["actions"][0]) == "ran 3\n"


HANG = """\
version: 2.1
parameters:
  mode: {type: enum, enum: [hang, quick], default: hang}
jobs:
  first:
    machine: true
    resource_class: acme/linux
    steps:
      - run: |
          if [ "<< pipeline.parameters.mode >>" = hang ]; then echo $$ > PIDFILE; exec sleep 300; fi
          echo quick
  second:
    machine: true
    resource_class: acme/linux
    steps:
      - run: echo second
workflows:
  main:
    jobs:
      - first
      - second: {requires: [first]}
"""


def test_killed_runner_loses_its_job_within_the_lease(
    circlet: Circlet, make_repo: MakeRepo, tmp_path: Path
) -> None:
    pidfile = tmp_path / "step.pid"
    token, _ = setup_project(circlet, make_repo, HANG.replace("PIDFILE", str(pidfile)))
    server = circlet.serve(
        "--runners",
        "0",
        extra_env={
            "CIRCLET_RUNNER_LEASE_S": str(LEASE_S),
            "CIRCLET_RUNNER_HEARTBEAT_INTERVAL_S": "0.5",
            "CIRCLET_REAPER_INTERVAL_S": str(REAPER_S),
        },
    )
    runner_token = circlet.run("runner-token", "create", "acme/linux")
    work_dir = tmp_path / "work"
    doomed = start_runner(circlet, server, runner_token, work_dir, "doomed")
    try:
        with server.client(token) as client:
            created = trigger(client)
            workflow_id = wait_until(
                lambda: workflows(client, created["id"]), bool, timeout_s=RUN_TIMEOUT_S, what="a workflow"
            )[0]["id"]
            wait_until(pidfile.exists, bool, timeout_s=RUN_TIMEOUT_S, what="the step to start")
            assert jobs_by_name(client, workflow_id)["first"]["status"] == "running"

            doomed.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            first = wait_until(
                lambda: jobs_by_name(client, workflow_id)["first"],
                lambda job: job["status"] != "running",
                timeout_s=LEASE_S + REAP_SLACK_S,
                what="the lease to expire",
            )
            assert first["status"] == "infrastructure_fail"
            assert time.monotonic() - killed_at <= LEASE_S + REAP_SLACK_S
            [workflow] = wait_workflows_done(client, created["id"])
            assert workflow["status"] == "failed"
            assert jobs_by_name(client, workflow_id)["second"]["status"] == "not_run"

            # A new runner on the same work dir kills what the dead one left behind, and work goes on.
            start_runner(circlet, server, runner_token, work_dir, "fresh")
            orphan = int(pidfile.read_text())
            wait_until(lambda: not alive(orphan), bool, timeout_s=RUN_TIMEOUT_S, what="the orphan to die")
            again = trigger(client, parameters={"mode": "quick"})
            assert [w["status"] for w in wait_workflows_done(client, again["id"])] == ["success"]
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pidfile.read_text()), signal.SIGKILL)


def start_runner(circlet: Circlet, server: Server, token: str, work_dir: Path, name: str) -> Any:
    return circlet.spawn(
        "runner",
        "--server",
        server.url,
        "--resource-class",
        "acme/linux",
        "--work-dir",
        str(work_dir),
        "--name",
        name,
        extra_env={"CIRCLET_RUNNER_TOKEN": token},
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    return True


def test_serve_stops_promptly_while_its_runner_waits_for_work(circlet: Circlet) -> None:
    """A runner waiting in a long-poll claim (up to 25 s) must not hold up the server's stop: the
    claim ends at once, the runner stops, and its task directories are gone."""
    server = circlet.serve()
    work = circlet.data_dir / "work"
    wait_until((work / ".runner.lock").exists, bool, timeout_s=30, what="the runner to start")
    time.sleep(2.0)  # it is now in its claim, well inside the 25 s wait
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    took = time.monotonic() - started
    assert took < 8.0, f"circlet serve took {took:.1f} s to stop"
    assert [p.name for p in work.iterdir() if p.is_dir()] == []
