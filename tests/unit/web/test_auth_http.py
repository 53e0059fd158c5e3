"""Sign-in, sessions and CSRF over HTTP, against the real app and a real database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from circlet.web.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import MakeProject, MakeRepo, MakeUser

CONFIG = """
version: 2.1
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: sleep 30}]}
workflows:
  main: {jobs: [build]}
"""


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def sign_in(browser: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await browser.get("/login")
    return await browser.post("/login", data={"token": token, "next": "/", "csrf_token": csrf_of(form.text)})


async def test_pages_need_a_session(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/pipelines/gh/acme/app?branch=main")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/pipelines/gh/acme/app%3Fbranch%3Dmain"


async def test_sign_in_sets_a_sealed_strict_http_only_cookie(
    browser: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    response = await sign_in(browser, alice.token)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=strict" in session
    assert alice.token not in session
    page = await browser.get("/")
    assert page.status_code == 200 and "alice" in page.text


async def test_a_wrong_token_is_refused(browser: httpx.AsyncClient) -> None:
    response = await sign_in(browser, "CCIPAT_nope")
    assert response.status_code == 401
    assert "not accepted" in response.text
    assert SESSION_COOKIE not in browser.cookies


async def test_posts_without_the_csrf_token_are_rejected(
    browser: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await browser.get("/login")
    assert CSRF_COOKIE in browser.cookies
    no_token = await browser.post("/login", data={"token": alice.token})
    wrong = await browser.post("/login", data={"token": alice.token, "csrf_token": "0" * 64})
    assert no_token.status_code == 403 and wrong.status_code == 403
    assert SESSION_COOKIE not in browser.cookies


async def test_posts_from_another_origin_are_rejected(
    browser: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    form = await browser.get("/login")
    response = await browser.post(
        "/login",
        data={"token": alice.token, "csrf_token": csrf_of(form.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


async def test_only_the_users_projects_are_visible(
    browser: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    alice = await make_user("alice", org="gh/acme")
    await make_user("mallory", org="gh/other")
    await make_project(make_repo(CONFIG), "gh/acme/app")
    await make_project(make_repo(CONFIG), "gh/other/secret")
    await sign_in(browser, alice.token)
    home = await browser.get("/")
    assert "gh/acme/app" in home.text and "secret" not in home.text
    assert (await browser.get("/pipelines/gh/acme/app")).status_code == 200
    hidden = await browser.get("/pipelines/gh/other/secret")
    assert hidden.status_code == 404 and "secret" not in hidden.text.split("<main>")[1].split("Back")[0]


async def test_sign_out_ends_the_session(browser: httpx.AsyncClient, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    await sign_in(browser, alice.token)
    home = await browser.get("/")
    out = await browser.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await browser.get("/")).status_code == 303


async def test_sign_in_only_redirects_within_the_site(
    browser: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    form = await browser.get("/login")
    response = await browser.post(
        "/login", data={"token": alice.token, "next": "//evil.example/x", "csrf_token": csrf_of(form.text)}
    )
    assert response.headers["location"] == "/"


async def test_every_form_on_a_page_carries_the_csrf_token(
    browser: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    alice = await make_user("alice", org="gh/acme")
    await make_project(make_repo(CONFIG), "gh/acme/app")
    await sign_in(browser, alice.token)
    form = await browser.get("/pipelines/gh/acme/app/trigger")
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", form.text, flags=re.S)
    assert len(forms) == 2  # sign out and trigger
    for html in forms:
        assert re.search(r'name="csrf_token" value="[0-9a-f]{64}"', html), html[:200]
    response = await browser.post(
        "/pipelines/gh/acme/app/trigger",
        data={"csrf_token": csrf_of(form.text), "ref_type": "branch", "ref": "main"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/pipelines/gh/acme/app/1"
