"""Insights: metrics with trends and the duration charts drawn by the vendored charting library."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import StartServer, shoot, sign_in
from tests.browser.test_control import HELD

pytestmark = pytest.mark.browser


def test_insights_draws_charts_from_history(serve: StartServer, browser: object) -> None:
    server = serve(HELD, seed_runs=60)
    page = sign_in(browser, server)
    page.goto(f"{server.base_url}/pipelines/gh/acme/app")
    page.get_by_role("link", name="Insights").click()
    stats = page.locator("#stats")
    for label in ("Success rate", "Throughput", "Duration p50", "Duration p95", "MTTR"):
        expect(stats).to_contain_text(label)
    for chart in ("#chart-durations", "#chart-jobs"):
        expect(page.locator(chart)).to_have_attribute("data-drawn", "yes")
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        box = page.locator(f"{chart} canvas").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1
    shoot(page, "insights", full_page=True)
    page.select_option("select[name=window]", "last-7-days")
    page.wait_for_url("**window=last-7-days**")
    expect(page.locator("select[name=window]")).to_have_value("last-7-days")
