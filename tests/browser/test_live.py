"""The plan view, and live parts: statuses arrive as server-sent events, without a reload or polling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import StartServer, shoot, sign_in

pytestmark = pytest.mark.browser

PLANNED = """\
version: 2.1
parameters:
  deploy: {type: boolean, default: false}
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: echo built}]}
  lint: {docker: [{image: cimg/base:stable}], steps: [{run: echo linted}]}
  publish: {docker: [{image: cimg/base:stable}], steps: [{run: echo published}]}
workflows:
  ci:
    jobs:
      - build
      - lint
      - publish: {requires: [build, lint], filters: {branches: {only: release}}}
  deploy:
    when: << pipeline.parameters.deploy >>
    jobs: [build]
  release:
    jobs:
      - publish: {filters: {tags: {only: /^v.*/}, branches: {ignore: /.*/}}}
"""

HELD_BY_A_FILE = """\
version: 2.1
parameters:
  release: {type: string, default: /nonexistent}
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run:
          name: Wait for the release file
          command: |
            echo started
            for _ in $(seq 1 600); do [ -f "<< pipeline.parameters.release >>" ] && break; sleep 0.1; done
            echo released
  test: {docker: [{image: cimg/base:stable}], steps: [{run: echo tested}]}
workflows:
  main:
    jobs:
      - build
      - test: {requires: [build]}
"""


def test_the_plan_says_what_ran_and_why_the_rest_did_not(serve: StartServer, browser: object) -> None:
    server = serve(PLANNED)
    server.trigger()
    page = sign_in(browser, server)
    page.goto(f"{server.base_url}/pipelines/gh/acme/app/1")
    page.get_by_role("link", name="Plan").click()
    page.wait_for_url("**/1/config/plan")
    expect(page.locator(".tabs a[aria-current=page]")).to_have_text("Plan")
    ci = page.locator(".plan-workflow[data-workflow='ci']")
    expect(ci).to_have_attribute("data-runs", "yes")
    expect(ci.locator("tr[data-job='build']")).to_contain_text("Success", timeout=60_000)
    expect(ci.locator("tr[data-job='publish']")).to_contain_text(
        "branch 'main' is not in filters.branches.only"
    )
    deploy = page.locator(".plan-workflow[data-workflow='deploy']")
    expect(deploy).to_have_attribute("data-runs", "no")
    expect(deploy.locator(".why")).to_contain_text("when:")
    release = page.locator(".plan-workflow[data-workflow='release']")
    expect(release.locator("tr[data-job='publish']")).to_contain_text("matches filters.branches.ignore")
    shoot(page, "plan", full_page=True)
    page.get_by_role("link", name="Source and compiled").click()
    expect(page.locator("#config-source")).to_contain_text("filters")


def test_statuses_arrive_live_without_a_reload_or_polling(serve: StartServer, browser: object) -> None:
    server = serve(HELD_BY_A_FILE)
    release = server.data_dir / "release"
    pipeline = server.trigger(branch="main", parameters={"release": str(release)})
    workflow = server.api("GET", f"/pipeline/{pipeline['id']}/workflow")["items"][0]["id"]
    graph_page = sign_in(browser, server)
    requested: list[str] = []
    graph_page.context.on("request", lambda r: requested.append(r.url))
    graph_page.goto(f"{server.base_url}/pipelines/gh/acme/app/1/workflows/{workflow}")
    build = graph_page.locator(".node[data-job='build']")
    expect(build).to_have_attribute("data-status", "running", timeout=60_000)
    expect(graph_page.locator(".node[data-job='test']")).to_have_attribute("data-status", "blocked")
    elapsed = graph_page.locator("#workflow-head [data-since]")
    first = elapsed.inner_text()
    expect(elapsed).not_to_have_text(first, timeout=5_000)  # the running duration ticks
    shoot(graph_page, "workflow-running")
    job_page = graph_page.context.new_page()
    job_page.goto(f"{server.base_url}/pipelines/gh/acme/app/1/workflows/{workflow}/jobs/1")
    expect(job_page.locator("#job-status")).to_contain_text("Running")
    expect(
        job_page.locator("details.step", has_text="Wait for the release file").locator("pre.log")
    ).to_contain_text("started")
    for page in (graph_page, job_page):
        page.evaluate("window.circletSamePage = true")
    # a hidden tab closes its stream and opens it again when shown
    opened = len([u for u in requested if u.endswith("/live")])
    for hidden in ("true", "false"):
        graph_page.evaluate(
            f"Object.defineProperty(document, 'hidden', {{value: {hidden}, configurable: true}});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )
    graph_page.wait_for_timeout(500)
    assert len([u for u in requested if u.endswith("/live")]) == opened + 1

    release.touch()
    expect(job_page.locator("#job-status")).to_contain_text("Success", timeout=60_000)
    expect(graph_page.locator("#workflow-live")).to_have_attribute("data-status", "success", timeout=60_000)
    expect(graph_page.locator(".node[data-job='test']")).to_contain_text("Success")
    expect(graph_page.locator("[data-stream]")).to_have_attribute("data-ended", "yes")  # the stream ended
    for page in (graph_page, job_page):
        assert page.evaluate("window.circletSamePage") is True  # updated in place, never reloaded
    streams = [u for u in requested if u.endswith("/live") or "/progress/stream" in u]
    polls = [u for u in requested if "part=" in u or "/progress?" in u]
    assert len(streams) >= 2 and not polls, (streams, polls)
