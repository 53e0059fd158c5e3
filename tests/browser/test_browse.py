"""Sign in, see only your projects, trigger with parameters and follow a job's output live."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, StartServer, shoot, sign_in

pytestmark = pytest.mark.browser

PARAMS_CONFIG = """\
version: 2.1
parameters:
  greeting: {type: string, default: hello, description: Printed on every line}
  count: {type: integer, default: 3}
  loud: {type: boolean, default: false}
  target: {type: enum, enum: [staging, production], default: staging}
  release: {type: string, default: /nonexistent}
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    environment: {RELEASE: "<< pipeline.parameters.release >>"}
    steps:
      - run:
          name: Count out loud
          command: |
            for i in $(seq 1 << pipeline.parameters.count >>); do
              printf '\\033[32m<< pipeline.parameters.greeting >> %s\\033[0m (loud=<< pipeline.parameters.loud >>, << pipeline.parameters.target >>)\\n' $i
              if [ "$i" = 2 ]; then
                # hold here until the test has seen the first lines arrive
                for _ in $(seq 1 600); do [ -f "$RELEASE" ] && break; sleep 0.1; done
              fi
            done
  test:
    docker: [{image: cimg/base:stable}]
    steps:
      - run:
          name: Run the tests
          command: |
            mkdir -p results
            cat > results/junit.xml <<'XML'
            <testsuite name="app" tests="2" failures="1">
              <testcase classname="app.math" name="test_adds" time="0.01"/>
              <testcase classname="app.math" name="test_divides" time="0.02"><failure message="division by zero">ZeroDivisionError: division by zero</failure></testcase>
            </testsuite>
            XML
      - store_test_results: {path: results}
      - store_artifacts: {path: results, destination: reports}
workflows:
  main:
    jobs:
      - build
      - test: {requires: [build]}
"""


def test_sign_in_shows_only_my_projects_and_sign_out_ends_it(serve: StartServer, browser: object) -> None:
    server = serve(PARAMS_CONFIG)
    page = sign_in(browser, server)
    expect(page.locator(".project")).to_have_count(1)
    expect(page.locator(".project .slug")).to_have_text("gh/acme/app")
    expect(page.get_by_text("gh/other/secret")).to_have_count(0)
    shoot(page, "projects")
    response = page.goto(f"{server.base_url}/pipelines/gh/other/secret")
    assert response is not None and response.status == 404
    page.goto(f"{server.base_url}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(f"{server.base_url}/pipelines/gh/acme/app")
    assert "/login?next=/pipelines/gh/acme/app" in page.url


def test_trigger_with_parameters_then_follow_the_log_live(serve: StartServer, browser: object) -> None:
    server: Server = serve(PARAMS_CONFIG)
    page = sign_in(browser, server)
    page.click("a.project")
    page.get_by_role("link", name="Trigger pipeline").click()
    expect(page.locator("[data-param]")).to_have_count(5)
    release = server.data_dir / "release"
    page.fill("#p-release", str(release))
    page.fill("#p-greeting", "bonjour")
    page.fill("#p-count", "8")
    page.check("input[name='param.loud'][type=checkbox]")
    page.select_option("#p-target", "production")
    shoot(page, "trigger")
    page.get_by_role("button", name="Trigger pipeline").click()
    page.wait_for_url(re.compile(r"/pipelines/gh/acme/app/1$"))
    details = page.locator("aside")
    expect(details).to_contain_text('greeting = "bonjour"')
    expect(details).to_contain_text("count = 8")
    expect(details).to_contain_text("loud = true")
    page.locator(".job-pill", has_text="build").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    step = page.locator("details.step", has_text="Count out loud")
    log = step.locator("pre.log")
    # the first lines arrive while the step still runs: the page follows the output live
    expect(log).to_contain_text("bonjour 2", timeout=60_000)
    expect(page.locator("#job-status")).to_contain_text("Running")
    expect(step.locator("summary")).to_contain_text("Running")
    assert "bonjour 3" not in log.inner_text()
    shoot(page, "job-running")
    release.touch()
    expect(page.locator("#job-status")).to_contain_text("Success", timeout=30_000)
    expect(log).to_contain_text("bonjour 8 (loud=true, production)")
    expect(log.locator("span.a-f2").first).to_have_text(re.compile(r"^bonjour \d"))
    expect(step.locator("summary")).to_contain_text("Success")
    shoot(page, "job")
    page.get_by_role("link", name="main").click()
    page.locator(".node[data-job='test']").click()
    tests = page.locator("#tests details.test")
    expect(tests).to_have_count(2, timeout=30_000)
    expect(tests.first).to_have_attribute("data-result", "failure")
    expect(tests.first).to_contain_text("ZeroDivisionError: division by zero")
    link = page.locator("#artifacts a", has_text="reports/junit.xml")
    with page.expect_download() as download:
        link.click()
    assert b"test_divides" in Path(download.value.path()).read_bytes()
    shoot(page, "job-tests")
    page.go_back()
    expect(page.locator("#workflow-graph")).to_have_attribute("data-status", "success", timeout=30_000)
    expect(page.locator(".node")).to_have_count(2)
    expect(page.locator("svg.edges path")).to_have_count(1)
    shoot(page, "workflow")
    page.goto(f"{server.base_url}/pipelines/gh/acme/app")
    expect(page.locator("#pipeline-rows tr[data-pipeline='1']")).to_contain_text("Success")
    shoot(page, "pipelines")
    page.goto(f"{server.base_url}/pipelines/gh/acme/app/1/config")
    expect(page.locator("#config-source")).to_contain_text("Count out loud")
    expect(page.locator("#config-compiled")).to_contain_text("bonjour")
    shoot(page, "config")


def test_a_running_pipeline_updates_in_place(serve: StartServer, browser: object) -> None:
    server = serve(PARAMS_CONFIG)
    page = sign_in(browser, server)
    page.goto(f"{server.base_url}/pipelines/gh/acme/app")
    expect(page.locator(".empty")).to_contain_text("No pipelines yet")
    release = server.data_dir / "release"
    server.trigger(branch="main", parameters={"count": 4, "release": str(release)})
    page.reload()
    row = page.locator("#pipeline-rows tr[data-pipeline='1']")
    expect(row).to_contain_text("Running")
    release.touch()
    # the row refreshes itself (no reload) once the pipeline finishes
    expect(row).to_contain_text("Success", timeout=60_000)
    page.fill("input[name=branch]", "nope")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".empty")).to_contain_text("No pipelines on “nope”")
