"""Project env vars and contexts through the real app: masking, encryption at rest, injection into jobs,
and context restrictions that stop a job before it runs."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from circlet.store.db import Store
from tests.conftest import MakeUser
from tests.integration.control.conftest import MakeOrg, echo_config, run_to_end

V2 = "/api/v2"
SECRET = "s3cr3t-value-0042"
CONTEXT_SECRET = "ctx-token-9f8e7d6c"

USES_SECRETS = echo_config(
    "- show: {context: [deploy]}",
    show=f'echo "project=$PROJECT_SECRET context=$DEPLOY_TOKEN" && test "$DEPLOY_TOKEN" = "{CONTEXT_SECRET}"',
)
RESTRICTED = echo_config(
    "- build\n- deploy: {context: prod, requires: [build]}\n- after: {requires: [deploy]}",
    build="echo build",
    deploy="echo deploying",
    after="echo after",
)


async def _dump(store: Store) -> str:
    """Every row of every secret-holding table, as text."""
    async with store.transaction() as tx:
        parts: list[str] = []
        for table in ("project_envvars", "context_envvars", "checkout_keys"):
            rows = (await tx.execute(text(f"SELECT * FROM {table}"))).all()
            parts.extend(repr(tuple(r)) for r in rows)
    return "\n".join(parts)


async def test_project_envvars_are_masked_and_encrypted(
    client: httpx.AsyncClient,
    acme: MakeOrg,
    store: Store,
) -> None:
    account, stranger = await acme("version: 2.1\n")
    url = f"{V2}/project/gh/acme/app/envvar"
    created = await client.post(
        url, headers=account.headers, json={"name": "PROJECT_SECRET", "value": SECRET}
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "PROJECT_SECRET"
    assert created.json()["value"] == "xxxx0042"
    short = await client.post(url, headers=account.headers, json={"name": "SHORT", "value": "abc"})
    assert short.json()["value"] == "xxxx"

    listed = (await client.get(url, headers=account.headers)).json()
    assert [(v["name"], v["value"]) for v in listed["items"]] == [
        ("PROJECT_SECRET", "xxxx0042"),
        ("SHORT", "xxxx"),
    ]
    assert listed["next_page_token"] is None
    one = (await client.get(f"{url}/PROJECT_SECRET", headers=account.headers)).json()
    assert one["value"] == "xxxx0042"

    overwrite = await client.post(
        url, headers=account.headers, json={"name": "SHORT", "value": "other-value-7777"}
    )
    assert overwrite.status_code == 201 and overwrite.json()["value"] == "xxxx7777"

    dump = await _dump(store)
    assert "PROJECT_SECRET" in dump
    assert SECRET not in dump and "other-value-7777" not in dump and "s3cr3t" not in dump

    bad = await client.post(url, headers=account.headers, json={"name": "1-bad name", "value": "x"})
    assert bad.status_code == 400 and "message" in bad.json()
    deleted = await client.delete(f"{url}/SHORT", headers=account.headers)
    assert deleted.status_code == 200 and deleted.json() == {"message": "Environment variable deleted."}
    assert (await client.get(f"{url}/SHORT", headers=account.headers)).status_code == 404
    assert (await client.delete(f"{url}/SHORT", headers=account.headers)).status_code == 404

    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    foreign = await client.post(url, headers=stranger.headers, json={"name": "B", "value": "x"})
    assert foreign.status_code == 404
    assert (await client.get(f"{url}/PROJECT_SECRET", headers=stranger.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401


async def _context(client: httpx.AsyncClient, headers: dict[str, str], name: str, **owner: str) -> str:
    response = await client.post(
        f"{V2}/context", headers=headers, json={"name": name, "owner": owner or {"slug": "gh/acme"}}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_context_crud_variables_and_owner_forms(
    client: httpx.AsyncClient, make_user: MakeUser, store: Store
) -> None:
    account = await make_user()
    stranger = await make_user(org="gh/other")
    first = await _context(client, account.headers, "deploy")
    second = await _context(client, account.headers, "release", slug="github/acme", type="organization")
    duplicate = await client.post(
        f"{V2}/context", headers=account.headers, json={"name": "deploy", "owner": {"slug": "gh/acme"}}
    )
    assert duplicate.status_code == 409

    listed = (
        await client.get(f"{V2}/context", params={"owner-slug": "gh/acme"}, headers=account.headers)
    ).json()
    assert [c["name"] for c in listed["items"]] == ["deploy", "release"]
    org_id = (await client.get(f"{V2}/me/collaborations", headers=account.headers)).json()[0]["id"]
    by_id = await client.get(
        f"{V2}/context", params={"owner-id": org_id, "owner-type": "organization"}, headers=account.headers
    )
    assert [c["id"] for c in by_id.json()["items"]] == [first, second]
    account_owned = await client.get(
        f"{V2}/context", params={"owner-id": org_id, "owner-type": "account"}, headers=account.headers
    )
    assert account_owned.status_code == 400 and "not supported" in account_owned.json()["message"]
    assert (await client.get(f"{V2}/context", headers=account.headers)).status_code == 400
    hidden = await client.get(f"{V2}/context", params={"owner-slug": "gh/acme"}, headers=stranger.headers)
    assert hidden.status_code == 404
    assert (await client.get(f"{V2}/context/{first}", headers=stranger.headers)).status_code == 404
    got = (await client.get(f"{V2}/context/{first}", headers=account.headers)).json()
    assert got["name"] == "deploy" and got["id"] == first

    var_url = f"{V2}/context/{first}/environment-variable"
    put = await client.put(f"{var_url}/DEPLOY_TOKEN", headers=account.headers, json={"value": CONTEXT_SECRET})
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["variable"] == "DEPLOY_TOKEN" and body["context_id"] == first and "value" not in body
    again = await client.put(
        f"{var_url}/DEPLOY_TOKEN", headers=account.headers, json={"value": "rotated-1234"}
    )
    assert again.json()["created_at"] == body["created_at"]
    listed_vars = (await client.get(var_url, headers=account.headers)).json()
    assert [v["variable"] for v in listed_vars["items"]] == ["DEPLOY_TOKEN"]
    assert CONTEXT_SECRET not in await _dump(store) and "rotated-1234" not in await _dump(store)
    assert (await client.delete(f"{var_url}/DEPLOY_TOKEN", headers=account.headers)).status_code == 200
    assert (await client.delete(f"{var_url}/DEPLOY_TOKEN", headers=account.headers)).status_code == 404

    assert (await client.delete(f"{V2}/context/{second}", headers=stranger.headers)).status_code == 404
    deleted = await client.delete(f"{V2}/context/{second}", headers=account.headers)
    assert deleted.status_code == 200 and deleted.json() == {"message": "Context deleted."}
    assert (await client.get(f"{V2}/context/{second}", headers=account.headers)).status_code == 404
    assert (await client.get(f"{V2}/context/not-a-uuid", headers=account.headers)).status_code == 404


async def test_context_pages(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    account = await make_user()
    for index in range(23):
        await _context(client, account.headers, f"ctx-{index:02d}")
    first = (
        await client.get(f"{V2}/context", params={"owner-slug": "gh/acme"}, headers=account.headers)
    ).json()
    assert len(first["items"]) == 20 and first["next_page_token"]
    rest = (
        await client.get(
            f"{V2}/context",
            params={"owner-slug": "gh/acme", "page-token": first["next_page_token"]},
            headers=account.headers,
        )
    ).json()
    names = [c["name"] for c in first["items"] + rest["items"]]
    assert names == [f"ctx-{i:02d}" for i in range(23)] and rest["next_page_token"] is None


async def test_restrictions_crud(client: httpx.AsyncClient, acme: MakeOrg) -> None:
    account, _ = await acme("version: 2.1\n")
    project_id = (await client.get(f"{V2}/project/gh/acme/app", headers=account.headers)).json()["id"]
    context = await _context(client, account.headers, "prod")
    url = f"{V2}/context/{context}/restrictions"
    by_project = await client.post(
        url, headers=account.headers, json={"restriction_type": "project", "restriction_value": project_id}
    )
    assert by_project.status_code == 201, by_project.text
    assert by_project.json()["name"] == "app" and by_project.json()["restriction_value"] == project_id
    expression = 'pipeline.git.branch == "main"'
    by_expression = await client.post(
        url, headers=account.headers, json={"restriction_type": "expression", "restriction_value": expression}
    )
    assert by_expression.status_code == 201
    duplicate = await client.post(url, headers=account.headers, json={"project_id": project_id})
    assert duplicate.status_code == 409
    for bad in (
        {"restriction_type": "expression", "restriction_value": 'pipeline.git.branch == "main'},
        {"restriction_type": "expression", "restriction_value": "os.system == 1"},
        {"restriction_type": "project", "restriction_value": "00000000-0000-0000-0000-000000000000"},
        {"restriction_type": "nonsense", "restriction_value": "x"},
        {},
    ):
        response = await client.post(url, headers=account.headers, json=bad)
        assert response.status_code == 400, (bad, response.text)
    listed = (await client.get(url, headers=account.headers)).json()
    assert [(r["restriction_type"], r["restriction_value"]) for r in listed["items"]] == [
        ("project", project_id),
        ("expression", expression),
    ]
    removed = await client.delete(f"{url}/{by_project.json()['id']}", headers=account.headers)
    assert removed.status_code == 200
    assert (
        await client.delete(f"{url}/{by_project.json()['id']}", headers=account.headers)
    ).status_code == 404
    assert len((await client.get(url, headers=account.headers)).json()["items"]) == 1


async def test_job_gets_project_and_context_secrets_masked_in_logs(
    client: httpx.AsyncClient, acme: MakeOrg, runner
) -> None:
    account, _ = await acme(USES_SECRETS)
    await client.post(
        f"{V2}/project/gh/acme/app/envvar",
        headers=account.headers,
        json={"name": "PROJECT_SECRET", "value": SECRET},
    )
    context = await _context(client, account.headers, "deploy")
    await client.put(
        f"{V2}/context/{context}/environment-variable/DEPLOY_TOKEN",
        headers=account.headers,
        json={"value": CONTEXT_SECRET},
    )
    await runner()
    workflow = await run_to_end(client, account.headers)
    assert workflow["status"] == "success"
    build = (await client.get("/api/v1.1/project/gh/acme/app/1", headers=account.headers)).json()
    action = build["steps"][-1]["actions"][0]
    output = (await client.get(action["output_url"], headers=account.headers)).json()[0]["message"]
    assert "project=" in output and "context=" in output
    assert SECRET not in output and CONTEXT_SECRET not in output


async def test_restricted_context_makes_job_unauthorized(
    client: httpx.AsyncClient,
    acme: MakeOrg,
    runner,
) -> None:
    account, _ = await acme(RESTRICTED)
    context = await _context(client, account.headers, "prod")
    await client.post(
        f"{V2}/context/{context}/restrictions",
        headers=account.headers,
        json={"restriction_type": "expression", "restriction_value": 'pipeline.git.branch == "release"'},
    )
    await runner()
    workflow = await run_to_end(client, account.headers)
    assert workflow["status"] == "unauthorized"
    jobs = (await client.get(f"{V2}/workflow/{workflow['id']}/job", headers=account.headers)).json()["items"]
    assert {j["name"]: j["status"] for j in jobs} == {
        "build": "success",
        "deploy": "unauthorized",
        "after": "not_run",
    }
    deploy = next(j for j in jobs if j["name"] == "deploy")
    detail = (
        await client.get(f"{V2}/project/gh/acme/app/job/{deploy['job_number']}", headers=account.headers)
    ).json()
    assert "pipeline.git.branch" in detail["messages"][0]["message"]
    assert detail["parallel_runs"] == []  # never queued for a runner


async def test_allowed_and_missing_contexts(client: httpx.AsyncClient, acme: MakeOrg, runner) -> None:
    account, _ = await acme(RESTRICTED)
    await runner()
    workflow = await run_to_end(client, account.headers)
    assert workflow["status"] == "unauthorized"

    project_id = (await client.get(f"{V2}/project/gh/acme/app", headers=account.headers)).json()["id"]
    context = await _context(client, account.headers, "prod")
    for kind, value in (("project", project_id), ("expression", 'pipeline.git.branch == "main"')):
        await client.post(
            f"{V2}/context/{context}/restrictions",
            headers=account.headers,
            json={"restriction_type": kind, "restriction_value": value},
        )
    workflow = await run_to_end(client, account.headers)
    assert workflow["status"] == "success"
