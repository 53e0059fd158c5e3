"""Every Insights endpoint against the hand-built history in history.py; each expected figure is
worked out by hand from that table (the arithmetic is in the comments)."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from circlet.api.views import iso
from tests.conftest import Account, MakeUser
from tests.integration.insights.history import BUILD, D, M

V2 = "/api/v2/insights"
Seeded = tuple[Account, datetime, dict[str, str]]


def created(now: datetime, label: str) -> datetime:
    return now + next(row[2] for row in BUILD if row[0] == label)


async def get(client: httpx.AsyncClient, account: Account, path: str, **params: Any) -> Any:
    response = await client.get(f"{V2}/{path}", headers=account.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def durations(min_: int, median: int, p95: int, max_: int, mean: int, std: float) -> dict[str, Any]:
    return {
        "min": min_, "median": median, "p95": p95, "max": max_, "mean": mean,
        "standard_deviation": pytest.approx(std),
    }  # fmt: skip


async def test_workflow_metrics_last_7_days_default_branch(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, now, _ = seeded
    body = await get(client, account, "gh/acme/app/workflows", **{"reporting-window": "last-7-days"})
    assert body["next_page_token"] is None
    build, perf = body["items"]
    # main, created in [now-7d, now): r13 r1 r2 r3 r4 r5 r6 r7 (r10 at -7d-1h is outside)
    assert build["name"] == "build"
    assert build["metrics"] == {
        "total_runs": 8,
        "successful_runs": 5,  # r13 r1 r4 r6 r7
        "failed_runs": 2,  # r2 r3
        "success_rate": pytest.approx(5 / 7),  # 5 / (8 - 1 canceled)
        "throughput": pytest.approx(8 / 7),
        "total_credits_used": 0,
        "mttr": 86_550,  # r4 recovers 86 550 s after r2 (the first failure of the streak) stopped
        "total_recoveries": 1,
        # successful durations 150 100 200 300 400 -> sorted 100 150 200 300 400; mean 230;
        # variance (130^2 + 80^2 + 30^2 + 70^2 + 170^2) / 5 = 11 600
        "duration_metrics": durations(100, 200, 400, 400, 230, math.sqrt(11_600)),
    }
    assert build["window_start"] == iso(created(now, "r13"))
    assert build["window_end"] == iso(created(now, "r7"))
    assert perf["name"] == "perf"
    # 10, 20, ..., 200: nearest-rank median = 10th = 100, p95 = 19th = 190; std = 10 * sqrt((20^2 - 1) / 12)
    assert perf["metrics"]["duration_metrics"] == durations(10, 100, 190, 200, 105, 10 * math.sqrt(399 / 12))
    assert perf["metrics"]["total_runs"] == 20
    assert perf["metrics"]["success_rate"] == 1.0
    assert perf["metrics"]["mttr"] == 0
    assert perf["project_id"] == build["project_id"]


async def test_workflow_metrics_all_branches(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    body = await get(
        client,
        account,
        "gh/acme/app/workflows",
        **{"reporting-window": "last-7-days", "all-branches": "true"},
    )
    build = body["items"][0]["metrics"]
    # + feat r8 (failed 70) and r9 (success 80)
    assert (build["total_runs"], build["successful_runs"], build["failed_runs"]) == (10, 6, 3)
    assert build["success_rate"] == pytest.approx(6 / 9)
    # MTTR across branches: (86 550 on main + 86 410 on feat) / 2
    assert (build["mttr"], build["total_recoveries"]) == (86_480, 2)
    # 80 100 150 200 300 400: median = 3rd = 150, p95 = 6th = 400, mean 1230 / 6 = 205
    assert build["duration_metrics"]["median"] == 150
    assert build["duration_metrics"]["p95"] == 400
    assert build["duration_metrics"]["min"] == 80
    assert build["duration_metrics"]["mean"] == 205
    branch = await get(
        client, account, "gh/acme/app/workflows", **{"reporting-window": "last-7-days", "branch": "feat"}
    )
    feat = branch["items"][0]["metrics"]
    assert (feat["total_runs"], feat["success_rate"], feat["mttr"]) == (2, 0.5, 86_410)


async def test_window_boundaries(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    day = await get(client, account, "gh/acme/app/workflows", **{"reporting-window": "last-24-hours"})
    assert [i["name"] for i in day["items"]] == ["build"]  # perf ran 3 days ago
    only_r7 = day["items"][0]["metrics"]
    assert (only_r7["total_runs"], only_r7["throughput"]) == (1, 1.0)
    assert only_r7["duration_metrics"]["p95"] == only_r7["duration_metrics"]["min"] == 400
    default = await get(client, account, "gh/acme/app/workflows")  # last-90-days, main
    m = default["items"][0]["metrics"]
    # 12 main runs: 8 successful, 3 failed (r11 r2 r3), 1 canceled
    assert (m["total_runs"], m["successful_runs"], m["failed_runs"]) == (12, 8, 3)
    assert m["success_rate"] == pytest.approx(8 / 11)
    assert m["throughput"] == pytest.approx(12 / 90)
    # recoveries: r10 after r11 (-7d-1h+500s - (-10d+40s) = 256 060) and r4 (86 550)
    assert (m["mttr"], m["total_recoveries"]) == (171_305, 2)
    # 100 150 200 300 400 500 600 610: median 4th = 300, p95 8th = 610, mean 2860 / 8 = 357.5 -> 358
    assert (m["duration_metrics"]["median"], m["duration_metrics"]["p95"]) == (300, 610)
    assert m["duration_metrics"]["mean"] == 358


async def test_bad_reporting_window_is_400(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    response = await client.get(
        f"{V2}/gh/acme/app/workflows", headers=account.headers, params={"reporting-window": "last-2-days"}
    )
    assert response.status_code == 400
    assert "reporting-window" in response.json()["message"]


async def test_workflow_summary_trends(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, now, _ = seeded
    body = await get(
        client, account, "gh/acme/app/workflows/build/summary", **{"reporting-window": "last-7-days"}
    )
    metrics = body["metrics"]
    assert metrics["completed_runs"] == 7  # 5 successful + 2 failed
    assert metrics["total_runs"] == 8
    # the previous 7 days [-14d, -7d) on main: r11 (failed 40) and r10 (success 500, recovery 256 060)
    assert body["trends"] == {
        "total_runs": pytest.approx((8 - 2) / 2),
        "failed_runs": pytest.approx((2 - 1) / 1),
        "success_rate": pytest.approx((5 / 7 - 1 / 2) / (1 / 2)),
        "p95_duration_secs": pytest.approx((400 - 500) / 500),
        "median_duration_secs": pytest.approx((200 - 500) / 500),
        "total_credits_used": 0.0,
        "mttr": pytest.approx((86_550 - 256_060) / 256_060),
        "throughput": pytest.approx((8 / 7 - 2 / 7) / (2 / 7)),
    }
    assert body["workflow_names"] == ["build", "perf"]
    default = await get(client, account, "gh/acme/app/workflows/build/summary")
    assert default["metrics"]["total_runs"] == 12
    assert set(default["trends"].values()) == {0.0}  # nothing ran 90-180 days ago
    window_start = datetime.fromisoformat(default["metrics"]["window_start"])
    assert (
        timedelta(days=90) - timedelta(minutes=1)
        < now - window_start
        < timedelta(days=90) + timedelta(minutes=1)
    )


async def test_job_metrics(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    body = await get(
        client, account, "gh/acme/app/workflows/build/jobs", **{"reporting-window": "last-7-days"}
    )
    lint, test = body["items"]
    assert (lint["name"], lint["metrics"]["total_runs"], lint["metrics"]["success_rate"]) == ("lint", 8, 1.0)
    assert lint["metrics"]["duration_metrics"] == durations(10, 10, 10, 10, 10, 0.0)
    assert test["name"] == "test"
    assert test["metrics"] == {
        "total_runs": 8,
        "successful_runs": 5,
        "failed_runs": 2,
        "success_rate": pytest.approx(5 / 7),
        "throughput": pytest.approx(8 / 7),
        "total_credits_used": 0,
        "duration_metrics": durations(100, 200, 400, 400, 230, math.sqrt(11_600)),
    }
    only = await get(client, account, "gh/acme/app/workflows/build/jobs", **{"job-name": "test"})
    assert [i["name"] for i in only["items"]] == ["test"]
    day = await get(
        client, account, "gh/acme/app/workflows/build/jobs", **{"reporting-window": "last-24-hours"}
    )
    assert [(i["name"], i["metrics"]["total_runs"]) for i in day["items"]] == [("lint", 1), ("test", 1)]
    # 90 days (whole weeks from the weekly rollups): every main run of `test`
    (test90,) = (await get(client, account, "gh/acme/app/workflows/build/jobs", **{"job-name": "test"}))[
        "items"
    ]
    ok = [100, 150, 200, 300, 400, 500, 600, 610]
    assert (test90["metrics"]["total_runs"], test90["metrics"]["failed_runs"]) == (12, 3)
    assert test90["metrics"]["duration_metrics"] == durations(100, 300, 610, 610, 358, statistics.pstdev(ok))


async def test_recent_workflow_runs(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, now, ids = seeded
    body = await get(client, account, "gh/acme/app/workflows/build")
    order = ["r7", "r6", "r5", "r4", "r3", "r2", "r1", "r13", "r10", "r11", "r14", "r12"]
    assert [i["id"] for i in body["items"]] == [ids[label] for label in order]
    first = body["items"][0]
    assert first == {
        "id": ids["r7"],
        "branch": "main",
        "duration": 400,
        "created_at": iso(created(now, "r7")),
        "stopped_at": iso(created(now, "r7") + timedelta(seconds=400)),
        "credits_used": 0,
        "status": "success",
        "is_approval": False,
    }
    assert body["items"][2]["status"] == "canceled"
    everything = await get(client, account, "gh/acme/app/workflows/build", **{"all-branches": "true"})
    assert len(everything["items"]) == 14
    ranged = await get(
        client, account, "gh/acme/app/workflows/build",
        **{"start-date": (now - 5 * D + 30 * M).isoformat(), "end-date": (now - 2 * D - 30 * M).isoformat()},
    )  # fmt: skip
    assert [i["id"] for i in ranged["items"]] == [ids["r5"], ids["r4"], ids["r3"]]
    response = await client.get(
        f"{V2}/gh/acme/app/workflows/build", headers=account.headers, params={"end-date": now.isoformat()}
    )
    assert response.status_code == 400


async def test_recent_runs_pages(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, ids = seeded
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"all-branches": "true", **({"page-token": token} if token else {})}
        body = await get(client, account, "gh/acme/app/workflows/build/jobs/test", **params)
        seen += [i["id"] for i in body["items"]]
        pages += 1
        token = body["next_page_token"]
        if token is None:
            break
    assert len(seen) == len(set(seen)) == 14
    assert pages == 1
    perf = await get(client, account, "gh/acme/app/workflows/perf")
    assert len(perf["items"]) == 20
    assert perf["next_page_token"] is None
    assert ids["perf19"] == perf["items"][0]["id"]


async def test_test_metrics(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, ids = seeded
    body = await get(client, account, "gh/acme/app/workflows/build/test-metrics")
    # the 10 most recent main runs are r7 r6 r5 r4 r3 r2 r1 r13 r10 r11; r6 r4 r3 r2 reported tests
    assert body["total_test_runs"] == 6
    assert body["average_test_count"] == 2  # 6 tests / 4 runs = 1.5, rounded half up

    def summary(name: str, failed: int, p95: float, flaky: bool) -> dict[str, Any]:
        return {
            "test_name": name, "classname": "tests.unit", "file": "tests/test_unit.py", "source": None,
            "job_name": "test", "total_runs": 2, "failed_runs": failed, "p95_duration": p95, "flaky": flaky,
        }  # fmt: skip

    a, b, c = (
        summary("test_a", 1, 1.5, True),
        summary("test_b", 1, 2.5, True),
        summary("test_c", 1, 0.3, False),
    )
    assert body["most_failed_tests"] == [a, b, c]
    assert body["slowest_tests"] == [b, a, c]
    assert (body["most_failed_tests_extra"], body["slowest_tests_extra"]) == (0, 0)
    counts = {
        r["workflow_id"]: (r["pipeline_number"], r["success_rate"], r["test_counts"])
        for r in body["test_runs"]
    }
    assert counts == {
        ids["r6"]: (11, 1.0, {"success": 1, "failure": 0, "skipped": 0, "error": 0, "total": 1}),
        ids["r4"]: (9, 0.0, {"success": 0, "failure": 1, "skipped": 0, "error": 0, "total": 1}),
        ids["r3"]: (8, 0.5, {"success": 1, "failure": 1, "skipped": 0, "error": 0, "total": 2}),
        ids["r2"]: (7, 0.5, {"success": 1, "failure": 1, "skipped": 0, "error": 0, "total": 2}),
    }
    assert [r["workflow_id"] for r in body["test_runs"]] == [ids["r6"], ids["r4"], ids["r3"], ids["r2"]]


async def test_flaky_tests_both_spellings(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, now, ids = seeded
    body = await get(client, account, "gh/acme/app/flaky-tests")
    # test_a and test_b flipped on commit r2 (runs r2 then r3); test_c changed across commits (not flaky);
    # test_d flipped 20 days ago (more than 14 days without a flake: no longer flaky)
    assert body["total-flaky-tests"] == body["total_flaky_tests"] == 2
    assert body["flaky-tests"] == body["flaky_tests"]
    a, b = body["flaky_tests"]
    assert (a["test_name"], a["test-name"], b["test_name"]) == ("test_a", "test_a", "test_b")
    for test, wasted in ((a, 2), (b, 3)):  # the failed run's time (1.5 s, 2.5 s) in whole seconds, half up
        assert test["times_flaked"] == test["times-flaked"] == 1
        assert test["time_wasted"] == test["time-wasted"] == wasted
        assert test["workflow_id"] == test["workflow-id"] == ids["r3"]
        assert test["pipeline_number"] == test["pipeline-number"] == 8
        assert test["job_number"] == test["job-number"] == 16  # r3's second job (two jobs per run)
        assert test["job_name"] == test["job-name"] == "test"
        assert test["workflow_name"] == test["workflow-name"] == "build"
        assert test["workflow-created-at"] == iso(created(now, "r3"))
        assert test["classname"] == "tests.unit"
        assert test["file"] == "tests/test_unit.py"


async def test_branches(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    body = await get(client, account, "gh/acme/app/branches")
    assert body["branches"] == ["feat", "main"]
    assert (await get(client, account, "gh/acme/app/branches", **{"workflow-name": "perf"}))["branches"] == [
        "main"
    ]


async def test_project_pages_summary(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    body = await get(client, account, "pages/gh/acme/app/summary", **{"reporting-window": "last-7-days"})
    # current: build 10 runs (1440 s: main 1290 + feat 150) + perf 20 runs (2100 s); 26 successful, 1 canceled
    # previous 7 days: r11 + r10 (540 s), 1 successful of 2
    assert body["project_data"] == {
        "metrics": {
            "total_runs": 30, "total_duration_secs": 3540, "total_credits_used": 0,
            "success_rate": pytest.approx(26 / 29), "throughput": pytest.approx(30 / 7),
        },
        "trends": {
            "total_runs": pytest.approx(14.0), "total_duration_secs": pytest.approx((3540 - 540) / 540),
            "total_credits_used": 0.0, "success_rate": pytest.approx((26 / 29 - 0.5) / 0.5),
            "throughput": pytest.approx(14.0),
        },
    }  # fmt: skip
    build, perf = body["project_workflow_data"]
    assert build == {
        "workflow_name": "build",
        "metrics": {"total_credits_used": 0, "p95_duration_secs": 400, "total_runs": 10, "success_rate": pytest.approx(6 / 9)},
        "trends": {
            "total_credits_used": 0.0, "p95_duration_secs": pytest.approx(-0.2), "total_runs": pytest.approx(4.0),
            "success_rate": pytest.approx((6 / 9 - 0.5) / 0.5),
        },
    }  # fmt: skip
    assert perf["metrics"]["p95_duration_secs"] == 190
    assert set(perf["trends"].values()) == {0.0}
    branches = {(d["workflow_name"], d["branch"]): d for d in body["project_workflow_branch_data"]}
    assert list(branches) == [("build", "feat"), ("build", "main"), ("perf", "main")]
    assert branches[("build", "feat")]["metrics"]["p95_duration_secs"] == 80
    assert branches[("build", "main")]["trends"]["total_runs"] == pytest.approx(3.0)
    assert body["all_branches"] == ["feat", "main"]
    assert body["all_workflows"] == ["build", "perf"]
    filtered = await get(
        client, account, "pages/gh/acme/app/summary",
        **{"reporting-window": "last-7-days", "branches": "main", "workflow-names": "build"},
    )  # fmt: skip
    assert [d["workflow_name"] for d in filtered["project_workflow_data"]] == ["build"]
    assert [(d["workflow_name"], d["branch"]) for d in filtered["project_workflow_branch_data"]] == [
        ("build", "main")
    ]


async def test_org_summary(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, _, _ = seeded
    body = await get(client, account, "gh/acme/summary", **{"reporting-window": "last-7-days"})
    assert body["all_projects"] == ["app", "other"]
    assert body["org_data"]["metrics"]["total_runs"] == 30
    assert body["org_data"]["metrics"]["total_duration_secs"] == 3540
    assert body["org_data"]["trends"]["total_runs"] == pytest.approx(14.0)
    (app,) = body["org_project_data"]
    assert app == {
        "project_name": "app",
        "metrics": {"total_credits_used": 0, "total_duration_secs": 3540, "total_runs": 30, "success_rate": pytest.approx(26 / 29)},
        "trends": {
            "total_credits_used": 0.0, "total_duration_secs": pytest.approx((3540 - 540) / 540),
            "total_runs": pytest.approx(14.0), "success_rate": pytest.approx((26 / 29 - 0.5) / 0.5),
        },
    }  # fmt: skip
    other = await get(client, account, "gh/acme/summary", **{"project-names": "other"})
    assert other["org_project_data"] == []
    assert other["org_data"]["metrics"]["total_runs"] == 0


async def test_job_timeseries(client: httpx.AsyncClient, seeded: Seeded) -> None:
    account, now, _ = seeded
    body = await get(client, account, "time-series/gh/acme/app/workflows/build/jobs")
    test_points = [p for p in body["items"] if p["name"] == "test"]
    # expected: main runs of the last 90 days grouped by the UTC day they started on
    by_day: dict[str, list[tuple[str, int]]] = {}
    for _label, branch, offset, status, duration, _rev, _tests in BUILD:
        if branch == "main":
            by_day.setdefault((now + offset).date().isoformat(), []).append((status.value, duration))
    assert [p["timestamp"][:10] for p in test_points] == sorted(by_day)
    for point in test_points:
        runs = by_day[point["timestamp"][:10]]
        ok = sorted(d for s, d in runs if s == "success")
        assert point["metrics"]["total_runs"] == len(runs)
        assert point["metrics"]["successful_runs"] == len(ok)
        assert point["metrics"]["failed_runs"] == sum(s == "failed" for s, _ in runs)
        assert point["metrics"]["duration_metrics"]["total"] == sum(d for _, d in runs)
        assert point["metrics"]["duration_metrics"]["max"] == (ok[-1] if ok else None)
        assert point["metrics"]["throughput"] == len(runs)
    hourly = await get(client, account, "time-series/gh/acme/app/workflows/build/jobs", granularity="hourly")
    # only r7 (-1h) started within the last 48 hours on main
    assert [(p["name"], p["metrics"]["total_runs"]) for p in hourly["items"]] == [("lint", 1), ("test", 1)]
    r7 = created(now, "r7")
    assert hourly["items"][1]["min_started_at"] == iso(r7)
    assert hourly["items"][1]["max_ended_at"] == iso(r7 + timedelta(seconds=400))
    assert hourly["items"][1]["timestamp"] == iso(r7.replace(minute=0, second=0, microsecond=0))


async def test_other_orgs_see_nothing(client: httpx.AsyncClient, seeded: Seeded, make_user: MakeUser) -> None:
    stranger = await make_user("eve", org="gh/elsewhere")
    for path in (
        "gh/acme/app/workflows",
        "gh/acme/app/flaky-tests",
        "pages/gh/acme/app/summary",
        "gh/acme/summary",
    ):
        response = await client.get(f"{V2}/{path}", headers=stranger.headers)
        assert response.status_code == 404, path
        assert "message" in response.json()


async def test_recording_twice_counts_once(client: httpx.AsyncClient, seeded: Seeded, store: Any) -> None:
    """A hook that fires twice for one run (a retried transaction) must not count it twice."""
    from circlet.insights.recording import WorkflowRun, record_workflow_runs

    account, now, ids = seeded
    again = WorkflowRun(
        id=ids["r7"], project_id=(await get(client, account, "gh/acme/app/branches"))["project_id"],
        workflow_name="build", branch="main", pipeline_number=12, status="success",
        created_at=created(now, "r7"), stopped_at=created(now, "r7") + timedelta(seconds=400),
    )  # fmt: skip
    async with store.transaction() as tx:
        await record_workflow_runs(tx, [again])
    body = await get(client, account, "gh/acme/app/workflows", **{"reporting-window": "last-24-hours"})
    assert body["items"][0]["metrics"]["total_runs"] == 1
