"""Schedules through the real API (contract-checked) and firing at simulated times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from circlet.api.loops_hooks import ScheduleFirer
from circlet.model.hooks import MONTHS
from circlet.settings import Settings
from circlet.store.db import Store
from circlet.store.tables import PipelineRow
from tests.conftest import MakeProject, MakeRepo, MakeUser

V2 = "/api/v2"

CONFIG = """\
version: 2.1
parameters:
  target:
    type: string
    default: staging
jobs:
  nightly:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "<< pipeline.schedule.name >>/<< pipeline.schedule.id >>/<< pipeline.trigger_source >>/<< pipeline.parameters.target >>"
workflows:
  main:
    jobs: [nightly]
"""


def _future_month() -> tuple[int, int]:
    """A month the real clock is not in, so the app's own firing loop never fires these schedules."""
    now = datetime.now(UTC)
    month = (now.month + 5) % 12 + 1
    return now.year + 1, month


def schedule_body(**overrides: Any) -> dict[str, Any]:
    _, month = _future_month()
    body: dict[str, Any] = {
        "name": "nightly",
        "description": "every day at 03:00 UTC",
        "timetable": {
            "per-hour": 1,
            "hours-of-day": [3],
            "days-of-week": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
            "months": [MONTHS[month - 1]],
        },
        "attribution-actor": "current",
        "parameters": {"branch": "main", "target": "production"},
    }
    body.update(overrides)
    return body


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    year, month = _future_month()
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


async def test_schedule_crud(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user("alice")
    await make_project(make_repo(CONFIG))
    created = await client.post(
        f"{V2}/project/gh/acme/app/schedule", headers=account.headers, json=schedule_body()
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["name"] == "nightly"
    assert schedule["project-slug"] == "gh/acme/app"
    assert schedule["actor"]["login"] == "alice"
    assert schedule["parameters"] == {"branch": "main", "target": "production"}
    assert schedule["timetable"]["hours-of-day"] == [3]

    fetched = await client.get(f"{V2}/schedule/{schedule['id']}", headers=account.headers)
    assert fetched.status_code == 200
    assert fetched.json() == schedule

    listed = await client.get(f"{V2}/project/github/acme/app/schedule", headers=account.headers)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["items"]] == [schedule["id"]]
    assert listed.json()["next_page_token"] is None

    patched = await client.patch(
        f"{V2}/schedule/{schedule['id']}",
        headers=account.headers,
        json={
            "name": "hourly",
            "attribution-actor": "system",
            "timetable": {**schedule["timetable"], "per-hour": 2},
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["timetable"]["per-hour"], body["actor"]["login"]) == (
        "hourly",
        2,
        "system-actor",
    )
    assert body["description"] == "every day at 03:00 UTC"  # untouched by the PATCH
    assert body["updated-at"] >= schedule["updated-at"]

    monthly = await client.patch(
        f"{V2}/schedule/{schedule['id']}",
        headers=account.headers,
        json={"timetable": {"days-of-month": [1, 15]}},
    )
    assert monthly.status_code == 200, monthly.text
    assert monthly.json()["timetable"] == {
        "per-hour": 2,
        "hours-of-day": [3],
        "days-of-month": [1, 15],
        "months": schedule["timetable"]["months"],
    }

    deleted = await client.delete(f"{V2}/schedule/{schedule['id']}", headers=account.headers)
    assert deleted.status_code == 200
    assert "message" in deleted.json()
    gone = await client.get(f"{V2}/schedule/{schedule['id']}", headers=account.headers)
    assert gone.status_code == 404


async def test_schedule_validation_and_tenancy(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    outsider = await make_user(org="gh/other")
    await make_project(make_repo(CONFIG))
    url = f"{V2}/project/gh/acme/app/schedule"
    bad = [
        schedule_body(timetable={"per-hour": 0, "hours-of-day": [3], "days-of-week": ["MON"]}),
        schedule_body(
            timetable={"per-hour": 1, "hours-of-day": [3], "days-of-week": ["MON"], "days-of-month": [1]}
        ),
        schedule_body(parameters={"target": "production"}),
        schedule_body(parameters={"branch": "main", "tag": "v1"}),
        schedule_body(**{"attribution-actor": "someone"}),
        {"name": "incomplete"},
    ]
    for body in bad:
        response = await client.post(url, headers=account.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["message"]
    first = await client.post(url, headers=account.headers, json=schedule_body())
    assert first.status_code == 201
    duplicate = await client.post(url, headers=account.headers, json=schedule_body())
    assert duplicate.status_code == 409
    schedule_id = first.json()["id"]
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"{V2}/schedule/{schedule_id}", headers=outsider.headers)
        assert response.status_code == 404
    assert (await client.post(url, headers=outsider.headers, json=schedule_body(name="x"))).status_code == 404
    assert (await client.get(f"{V2}/schedule/{schedule_id}", headers=account.headers)).status_code == 200


async def test_schedule_list_pages(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    for n in range(23):
        response = await client.post(
            f"{V2}/project/gh/acme/app/schedule",
            headers=account.headers,
            json=schedule_body(name=f"s{n:02d}"),
        )
        assert response.status_code == 201
    first = (await client.get(f"{V2}/project/gh/acme/app/schedule", headers=account.headers)).json()
    assert len(first["items"]) == 20
    second = (
        await client.get(
            f"{V2}/project/gh/acme/app/schedule",
            headers=account.headers,
            params={"page-token": first["next_page_token"]},
        )
    ).json()
    assert second["next_page_token"] is None
    names = [s["name"] for s in first["items"] + second["items"]]
    assert sorted(names) == [f"s{n:02d}" for n in range(23)]


async def _pipelines(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{V2}/project/gh/acme/app/pipeline", headers=headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_schedule_fires_once_per_due_time_without_backlog(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    store: Store,
    settings: Settings,
) -> None:
    account = await make_user("alice")
    await make_project(make_repo(CONFIG))
    created = await client.post(
        f"{V2}/project/gh/acme/app/schedule", headers=account.headers, json=schedule_body()
    )
    schedule = created.json()
    firer = ScheduleFirer(store=store, mirrors_dir=settings.data_dir / "mirrors")

    assert await firer.run_once(at(10, 2, 59, 59)) == []  # not due yet (and yesterday's is stale)
    fired = await firer.run_once(at(10, 3, 0, 20))
    assert len(fired) == 1
    assert await firer.run_once(at(10, 3, 0, 25)) == []  # same due time
    fresh = ScheduleFirer(store=store, mirrors_dir=settings.data_dir / "mirrors")
    assert await fresh.run_once(at(10, 3, 1)) == []  # same due time, claimed in the database

    pipeline = (await client.get(f"{V2}/pipeline/{fired[0].id}", headers=account.headers)).json()
    assert pipeline["trigger"]["type"] == "scheduled_pipeline"
    assert pipeline["trigger"]["actor"]["login"] == "alice"
    assert pipeline["vcs"]["branch"] == "main"
    config = (await client.get(f"{V2}/pipeline/{fired[0].id}/config", headers=account.headers)).json()
    assert f"nightly/{schedule['id']}/scheduled_pipeline/production" in config["compiled"]
    values = (await client.get(f"{V2}/pipeline/{fired[0].id}/values", headers=account.headers)).json()
    assert values["pipeline.git.branch"] == "main"

    # Down for three days: on return only the latest due time fires, and only while it is fresh.
    assert len(await fresh.run_once(at(13, 3, 2))) == 1
    assert (
        await ScheduleFirer(store=store, mirrors_dir=settings.data_dir / "mirrors").run_once(at(14, 4)) == []
    )
    assert len(await _pipelines(client, account.headers)) == 2


async def test_system_actor_and_failed_trigger(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    store: Store,
    settings: Settings,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    url = f"{V2}/project/gh/acme/app/schedule"
    await client.post(url, headers=account.headers, json=schedule_body(**{"attribution-actor": "system"}))
    await client.post(
        url, headers=account.headers, json=schedule_body(name="ghost", parameters={"branch": "nope"})
    )
    firer = ScheduleFirer(store=store, mirrors_dir=settings.data_dir / "mirrors")
    fired = await firer.run_once(at(5, 3))
    assert len(fired) == 1  # the unknown branch is recorded as a failed firing, not an error
    assert fired[0].actor_id is None
    pipeline = (await client.get(f"{V2}/pipeline/{fired[0].id}", headers=account.headers)).json()
    assert pipeline["trigger"]["actor"]["login"] == "system"


async def test_two_servers_firing_at_once_create_one_pipeline(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    store: Store,
    second_server_store: Store,
    tmp_path: Path,
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG))
    for n in range(3):
        response = await client.post(
            f"{V2}/project/gh/acme/app/schedule", headers=account.headers, json=schedule_body(name=f"s{n}")
        )
        assert response.status_code == 201
    servers = [
        ScheduleFirer(store=store, mirrors_dir=tmp_path / "m1"),
        ScheduleFirer(store=second_server_store, mirrors_dir=tmp_path / "m2"),
    ]
    results = await asyncio.gather(*(s.run_once(at(20, 3, 0, 5)) for s in servers))
    assert sum(len(r) for r in results) == 3
    async with store.transaction() as tx:
        count = await tx.scalar(select(func.count()).select_from(PipelineRow))
    assert count == 3


async def test_old_claims_are_pruned(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    store: Store,
    settings: Settings,
) -> None:
    from circlet.store import schedules as schedule_store

    account = await make_user()
    await make_project(make_repo(CONFIG))
    created = await client.post(
        f"{V2}/project/gh/acme/app/schedule", headers=account.headers, json=schedule_body()
    )
    schedule_id = created.json()["id"]
    assert len(await ScheduleFirer(store=store, mirrors_dir=settings.data_dir / "m").run_once(at(2, 3))) == 1
    async with store.transaction() as tx:
        assert len(await schedule_store.firings(tx, schedule_id)) == 1
    await ScheduleFirer(store=store, mirrors_dir=settings.data_dir / "m").run_once(
        at(2, 3) + timedelta(days=31)
    )
    async with store.transaction() as tx:
        assert await schedule_store.firings(tx, schedule_id) == []
