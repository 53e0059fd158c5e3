"""Looks and weight: pages fit a phone, weigh under 200 KB before logs, and follow the system theme."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import StartServer, shoot, sign_in
from tests.browser.test_control import HELD

pytestmark = pytest.mark.browser

PAGE_BUDGET_BYTES = 200 * 1024


def test_pages_fit_a_phone_stay_light_and_follow_the_system_theme(
    serve: StartServer, browser: object
) -> None:
    server = serve(HELD)
    pipeline = server.trigger()
    phone = sign_in(browser, server, width=390, height=844)
    sizes: dict[str, int] = {}
    phone.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok else None)
    workflow = server.api("GET", f"/pipeline/{pipeline['id']}/workflow")["items"][0]["id"]
    for path in (
        "/",
        "/pipelines/gh/acme/app",
        "/pipelines/gh/acme/app/1",
        f"/pipelines/gh/acme/app/1/workflows/{workflow}",
        "/pipelines/gh/acme/app/trigger",
        "/pipelines/gh/acme/app/1/config/plan",
    ):
        sizes.clear()
        phone.goto(server.base_url + path)
        phone.wait_for_load_state("networkidle")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        total = sum(sizes.values())
        assert total < PAGE_BUDGET_BYTES, f"{path} weighs {total} bytes"
    phone.goto(f"{server.base_url}/pipelines/gh/acme/app")
    expect(phone.locator("#pipeline-rows tr[data-pipeline='1']")).to_be_visible()
    shoot(phone, "phone-pipelines")

    dark = sign_in(browser, server, dark=True)
    dark.goto(f"{server.base_url}/pipelines/gh/acme/app")
    background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(14, 17, 22)"
    light = sign_in(browser, server)
    light.goto(f"{server.base_url}/pipelines/gh/acme/app")
    assert light.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    shoot(dark, "dark-pipelines")
