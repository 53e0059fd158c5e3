"""store_artifacts through a real runner: listed in the spec's shape, paginated, downloadable with the
caller's token in any form, and hidden from other orgs."""

from __future__ import annotations

import base64

import httpx

from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.storage.pipelines import SLUG, V2, job_log, run_pipeline

CONFIG = """\
version: 2.1
jobs:
  build:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: |
          mkdir -p reports/html /tmp/circlet-art-$CIRCLE_WORKFLOW_ID
          for i in $(seq -w 1 22); do echo "report $i" > reports/r$i.txt; done
          printf '<h1>hi</h1>' > reports/html/index.html
          head -c 300000 /dev/urandom > big.bin
      - store_artifacts: {path: reports, destination: out}
      - store_artifacts: {path: big.bin}
      - store_artifacts: {path: missing-dir}
      - run: exit 3
      - store_artifacts:
          path: big.bin
          destination: after-failure/big.bin
"""


async def test_artifacts_listed_and_downloadable(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG + "workflows:\n  main:\n    jobs: [build]\n"))
    await runner()
    jobs = await run_pipeline(client, account)
    assert jobs["build"]["status"] == "failed"  # the exit 3; store_artifacts still ran after it
    log = await job_log(client, account, 1)
    assert "Warning: artifact path missing-dir" in log

    items: list[dict[str, object]] = []
    token = None
    pages = 0
    while True:
        params: dict[str, str] = {"page-token": token} if token else {}
        page = (
            await client.get(f"{V2}/project/{SLUG}/1/artifacts", headers=account.headers, params=params)
        ).json()
        items += page["items"]
        pages += 1
        token = page["next_page_token"]
        if token is None:
            break
    assert pages == 2
    paths: list[str] = [str(item["path"]) for item in items]
    assert paths == sorted(paths) and len(paths) == 25
    assert {"out/r01.txt", "out/r22.txt", "out/html/index.html", "big.bin", "after-failure/big.bin"} <= set(
        paths
    )
    assert all(item["node_index"] == 0 for item in items)

    by_path = {item["path"]: str(item["url"]) for item in items}
    url = by_path["out/r07.txt"].removeprefix("http://127.0.0.1:8080")
    basic = base64.b64encode(f"{account.token}:".encode()).decode()
    for kwargs in (
        {"headers": account.headers},
        {"headers": {"Authorization": f"Basic {basic}"}},
        {"params": {"circle-token": account.token}},
    ):
        response = await client.get(url, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200 and response.text == "report 07\n", kwargs
    big = await client.get(by_path["big.bin"].removeprefix("http://127.0.0.1:8080"), headers=account.headers)
    assert len(big.content) == 300000
    html = await client.get(
        by_path["out/html/index.html"].removeprefix("http://127.0.0.1:8080"), headers=account.headers
    )
    assert (
        html.headers["content-type"].startswith("text/html")
        and html.headers["content-security-policy"] == "sandbox"
    )

    assert (await client.get(url)).status_code == 401
    stranger = await make_user(org="gh/other")
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    listing = await client.get(f"{V2}/project/{SLUG}/1/artifacts", headers=stranger.headers)
    assert listing.status_code == 404
    assert (await client.get(url.replace("r07", "r99"), headers=account.headers)).status_code == 404
