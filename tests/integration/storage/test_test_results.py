"""store_test_results through a real runner: each JUnit dialect parsed on the server, recorded once,
and listed by GET /project/{slug}/{job-number}/tests in the spec's shape."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.storage.pipelines import SLUG, V2, job_log, run_pipeline

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "junit"
CONFIG = """\
version: 2.1
jobs:
  test:
    docker: [{image: cimg/base:stable}]
    steps:
      - checkout
      - run: mkdir -p results/go && cp junit/go-junit-report.xml results/go/ && echo 'not xml' > results/notes.txt
      - run: printf '<testsuite><testcase name="x">' > results/broken.xml
      - run: exit 1
      - store_test_results: {path: results}
      - store_test_results: {path: junit/pytest.xml}
      - store_test_results: {path: junit/jest-junit.xml}
      - store_test_results: {path: junit/TEST-com.example.AppTest.xml}
workflows:
  main:
    jobs: [test]
"""


async def test_results_of_each_dialect_are_listed(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    files = {f"junit/{p.name}": p.read_text() for p in FIXTURES.glob("*.xml")}
    await make_project(make_repo(CONFIG, files))
    await runner()
    jobs = await run_pipeline(client, account)
    assert jobs["test"]["status"] == "failed"
    log = await job_log(client, account, 1)
    assert "Recorded 2 tests from 1 files" in log and "Warning: not JUnit XML: broken.xml" in log
    assert "Recorded 4 tests from 1 files" in log and "Recorded 3 tests from 1 files" in log

    items = []
    token = None
    while True:
        params: dict[str, str] = {"page-token": token} if token else {}
        page = (
            await client.get(f"{V2}/project/{SLUG}/1/tests", headers=account.headers, params=params)
        ).json()
        items += page["items"]
        token = page["next_page_token"]
        if token is None:
            break
    assert len(items) == 12
    assert all(
        isinstance(item[k], str) for item in items for k in ("message", "source", "file", "name", "classname")
    )
    by_name = {item["name"]: item for item in items}
    assert by_name["TestDiscount/ten_percent"] == {
        "message": "cart_test.go:31: got 90.5, want 90",
        "source": "go/go-junit-report.xml",
        "run_time": 0.003,
        "file": "",
        "result": "failure",
        "name": "TestDiscount/ten_percent",
        "classname": "example.com/shop/cart",
    }
    assert by_name["test_adds"]["result"] == "success" and by_name["test_adds"]["message"] == ""
    assert by_name["test_fixture"]["result"] == "error" and by_name["test_later"]["result"] == "skipped"
    assert by_name["sum rejects strings"]["file"] == "src/sum.test.js"
    assert by_name["startsUp"]["run_time"] == 1200.25 and by_name["retriesNetwork"]["result"] == "success"
    assert by_name["addsItems"]["source"] == "TEST-com.example.AppTest.xml"
