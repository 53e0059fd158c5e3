"""The buttons that act: approve a held workflow, cancel a running job, rerun from failed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import StartServer, shoot, sign_in

pytestmark = pytest.mark.browser

HELD = """\
version: 2.1
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: echo built}]}
  deploy: {docker: [{image: cimg/base:stable}], steps: [{run: echo deployed}]}
workflows:
  release:
    jobs:
      - build
      - hold: {type: approval, requires: [build]}
      - deploy: {requires: [hold]}
"""

SLOW = """\
version: 2.1
jobs:
  wait:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: {name: Wait a long time, command: "echo waiting; sleep 300"}
workflows:
  main: {jobs: [wait]}
"""

FLAKY = """\
version: 2.1
parameters:
  mark: {type: string, default: /nonexistent/mark}
jobs:
  flaky:
    docker: [{image: cimg/base:stable}]
    steps:
      - run:
          name: Fail the first time
          command: |
            if [ -f "<< pipeline.parameters.mark >>" ]; then echo "second time lucky"; exit 0; fi
            touch "<< pipeline.parameters.mark >>"; echo "first run fails"; exit 1
  after: {docker: [{image: cimg/base:stable}], steps: [{run: echo after}]}
workflows:
  main:
    jobs:
      - flaky
      - after: {requires: [flaky]}
"""


def _first_workflow(server: object, pipeline_id: str) -> str:
    items = server.api("GET", f"/pipeline/{pipeline_id}/workflow")["items"]  # type: ignore[attr-defined]
    return str(items[0]["id"])


def test_approve_a_held_workflow(serve: StartServer, browser: object) -> None:
    server = serve(HELD)
    pipeline = server.trigger()
    page = sign_in(browser, server)
    page.goto(
        f"{server.base_url}/pipelines/gh/acme/app/1/workflows/{_first_workflow(server, pipeline['id'])}"
    )
    graph = page.locator("#workflow-graph")
    expect(graph).to_have_attribute("data-status", "on_hold", timeout=60_000)
    hold = page.locator(".node[data-job='hold']")
    expect(hold).to_contain_text("On hold")
    expect(page.locator(".node[data-job='deploy']")).to_contain_text("Blocked")
    shoot(page, "workflow-on-hold")
    hold.get_by_role("button", name="Approve").click()
    expect(page.locator("#workflow-graph")).to_have_attribute("data-status", "success", timeout=60_000)
    expect(page.locator(".node[data-job='deploy']")).to_contain_text("Success")
    expect(page.locator(".node[data-job='hold']")).to_contain_text("Success")


def test_cancel_a_running_job(serve: StartServer, browser: object) -> None:
    server = serve(SLOW)
    server.trigger()
    page = sign_in(browser, server)
    page.goto(f"{server.base_url}/pipelines/gh/acme/app/1")
    page.locator(".job-pill", has_text="wait").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator("details.step", has_text="Wait a long time").locator("pre.log")).to_contain_text(
        "waiting", timeout=60_000
    )
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#job-status")).to_contain_text("Canceled", timeout=60_000)
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    page.goto(f"{server.base_url}/pipelines/gh/acme/app")
    expect(page.locator("#pipeline-rows tr[data-pipeline='1']")).to_contain_text("Canceled", timeout=30_000)


def test_rerun_from_failed(serve: StartServer, browser: object) -> None:
    server = serve(FLAKY)
    mark = server.data_dir / "mark"
    pipeline = server.trigger(branch="main", parameters={"mark": str(mark)})
    page = sign_in(browser, server)
    first = _first_workflow(server, pipeline["id"])
    page.goto(f"{server.base_url}/pipelines/gh/acme/app/1/workflows/{first}")
    expect(page.locator("#workflow-graph")).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(page.locator(".node[data-job='after']")).to_contain_text("Not run")
    shoot(page, "workflow-failed")
    page.get_by_role("button", name="Rerun from failed").click()
    page.wait_for_url(re.compile(r"/workflows/(?!" + first + r")[0-9a-f-]+$"))
    expect(page.locator("#workflow-graph")).to_have_attribute("data-status", "success", timeout=60_000)
    expect(page.locator("#workflow-head")).to_contain_text("rerun")
    page.locator(".node[data-job='flaky']").click()
    step = page.locator("details.step", has_text="Fail the first time")
    step.locator("summary").click()  # a successful step opens (and loads its output) on demand
    expect(step.locator("pre.log")).to_contain_text("second time lucky")
