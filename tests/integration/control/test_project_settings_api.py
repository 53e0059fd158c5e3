"""Creating projects over the API and their advanced settings, checked against the official spec."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft7Validator  # type: ignore[import-untyped,unused-ignore]

from tests.conftest import MakeRepo, MakeUser
from tests.contract import _registry, spec
from tests.integration.control.conftest import MakeOrg

V2 = "/api/v2"
CREATE = "/project/{provider}/{organization}/{project}"


def assert_create_answer(response: httpx.Response) -> dict[str, Any]:
    """The automatic contract check matches ``/project/{project-slug}`` (GET only), so check here."""
    responses = spec()["paths"][CREATE]["post"]["responses"]
    assert str(response.status_code) in responses, response.text
    base = f"/paths/{CREATE.replace('/', '~1')}/post/responses/{response.status_code}"
    ref = responses[str(response.status_code)].get("$ref")
    if ref:  # a shared response under components/responses
        base = ref.removeprefix("#")
    pointer = f"spec#{base}/content/application~1json/schema"
    errors = list(Draft7Validator({"$ref": pointer}, registry=_registry()).iter_errors(response.json()))
    assert not errors, errors[0].message
    body: dict[str, Any] = response.json()
    return body


async def test_create_project_and_follow_again(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo
) -> None:
    account = await make_user()
    stranger = await make_user(org="gh/other")
    repo = make_repo("version: 2.1\n", branch="trunk")
    response = await client.post(
        f"{V2}/project/gh/acme/made",
        headers=account.headers,
        json={"vcs_url": str(repo), "default_branch": "trunk"},
    )
    assert response.status_code == 201
    body = assert_create_answer(response)
    assert body["advanced"]["set_github_status"] is True and body["advanced"]["autocancel_builds"] is False
    assert body["advanced"]["pr_only_branch_overrides"] == ["trunk"]
    project = (await client.get(f"{V2}/project/gh/acme/made", headers=account.headers)).json()
    assert project["vcs_info"]["vcs_url"] == str(repo) and project["vcs_info"]["default_branch"] == "trunk"
    pipeline = await client.post(f"{V2}/project/gh/acme/made/pipeline", headers=account.headers)
    assert pipeline.status_code == 201

    again = await client.post(f"{V2}/project/github/acme/made", headers=account.headers)
    assert again.status_code == 201 and assert_create_answer(again) == body
    other_url = await client.post(
        f"{V2}/project/gh/acme/made", headers=account.headers, json={"vcs_url": "/else"}
    )
    assert other_url.status_code == 400 and assert_create_answer(other_url)

    hosted = await client.post(f"{V2}/project/gh/acme/hosted", headers=account.headers)
    assert_create_answer(hosted)
    info = (await client.get(f"{V2}/project/gh/acme/hosted", headers=account.headers)).json()["vcs_info"]
    assert info["vcs_url"] == "https://github.com/acme/hosted.git"

    foreign = await client.post(f"{V2}/project/gh/acme/x", headers=stranger.headers)
    assert foreign.status_code == 404 and assert_create_answer(foreign)
    nowhere = await client.post(f"{V2}/project/gh/ghost/x", headers=account.headers)
    assert nowhere.status_code == 404
    unknown_field = await client.post(f"{V2}/project/gh/acme/y", headers=account.headers, json={"bogus": 1})
    assert unknown_field.status_code == 400 and assert_create_answer(unknown_field)
    assert (await client.post(f"{V2}/project/gh/acme/z")).status_code == 401


async def test_settings_read_and_patch(client: httpx.AsyncClient, acme: MakeOrg) -> None:
    account, stranger = await acme("version: 2.1\n")
    url = f"{V2}/project/gh/acme/app/settings"
    initial = (await client.get(url, headers=account.headers)).json()
    assert initial["advanced"]["build_fork_prs"] is False
    assert initial["advanced"]["pr_only_branch_overrides"] == ["main"]

    patched = await client.patch(
        url,
        headers=account.headers,
        json={"advanced": {"autocancel_builds": True, "pr_only_branch_overrides": ["main", "release"]}},
    )
    assert patched.status_code == 200, patched.text
    advanced = patched.json()["advanced"]
    assert advanced["autocancel_builds"] is True and advanced["pr_only_branch_overrides"] == [
        "main",
        "release",
    ]
    assert advanced["set_github_status"] is True
    assert (await client.get(url, headers=account.headers)).json() == patched.json()
    second = await client.patch(url, headers=account.headers, json={"advanced": {"oss": True}})
    assert second.json()["advanced"]["autocancel_builds"] is True and second.json()["advanced"]["oss"] is True

    invalid: list[dict[str, Any]] = [
        {"advanced": {"nope": True}},
        {"advanced": {"oss": "maybe"}},
        {"other": {}},
    ]
    for bad in invalid:
        response = await client.patch(url, headers=account.headers, json=bad)
        assert response.status_code == 400, bad
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    assert (
        await client.patch(url, headers=stranger.headers, json={"advanced": {"oss": False}})
    ).status_code == 404
