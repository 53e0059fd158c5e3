"""save_cache / restore_cache through real runners: prefix keys, newest match wins, a key is saved once."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import httpx
from typer.testing import CliRunner

from circlet.cli.main import app as cli
from circlet.settings import Settings
from tests.conftest import MakeProject, MakeRepo, MakeUser
from tests.integration.storage.pipelines import job_log, run_pipeline

CONFIG = """\
version: 2.1
jobs:
  save:
    docker: [{image: cimg/base:stable}]
    steps:
      - checkout
      - run: |
          mkdir -p deps ~/.cache/tool
          echo "build $CIRCLE_BUILD_NUM" > deps/marker
          echo "home $CIRCLE_BUILD_NUM" > ~/.cache/tool/marker
      - save_cache:
          key: v1-deps-{{ .Branch }}-{{ .BuildNum }}
          paths: [deps, ~/.cache/tool]
      - save_cache:
          key: fixed-{{ .Branch }}-{{ checksum "lock.txt" }}
          paths: [deps]
      - save_cache:
          name: save the same key again
          key: fixed-{{ .Branch }}-{{ checksum "lock.txt" }}
          paths: [deps]
  restore:
    docker: [{image: cimg/base:stable}]
    steps:
      - restore_cache:
          keys:
            - v1-deps-{{ .Branch }}-does-not-exist
            - v1-deps-
      - run: cat deps/marker ~/.cache/tool/marker
      - run: rm -rf deps
      - restore_cache:
          key: fixed-
      - run: cat deps/marker
      - restore_cache:
          key: nothing-like-this-
workflows:
  main:
    jobs:
      - save
      - restore: {requires: [save]}
"""


async def test_prefix_keys_newest_wins_and_saved_keys_stay(
    client: httpx.AsyncClient, make_user: MakeUser, make_repo: MakeRepo, make_project: MakeProject, runner
) -> None:
    account = await make_user()
    await make_project(make_repo(CONFIG, {"lock.txt": "pinned 1.0\n"}))
    await runner()

    first = await run_pipeline(client, account)
    assert first["workflow"]["status"] == "success", await job_log(
        client, account, first["save"]["job_number"]
    )
    digest = base64.b64encode(hashlib.sha256(b"pinned 1.0\n").digest()).decode()
    save_log = await job_log(client, account, 1)
    assert "Stored cache v1-deps-main-1" in save_log and f"Stored cache fixed-main-{digest}" in save_log
    assert f"Skipping cache generation, cache already exists for key: fixed-main-{digest}" in save_log
    restore_log = await job_log(client, account, 2)
    assert "Found a cache at key v1-deps-main-1" in restore_log
    assert "build 1\nhome 1\n" in restore_log  # the home path came back under this task's home
    assert "No cache is found for keys: nothing-like-this-" in restore_log

    second = await run_pipeline(client, account)
    assert second["workflow"]["status"] == "success"
    restore_log = await job_log(client, account, 4)
    assert "Found a cache at key v1-deps-main-3" in restore_log  # the newest of the prefix wins
    assert "build 3\nhome 3\n" in restore_log
    save_log = await job_log(client, account, 3)
    assert f"Skipping cache generation, cache already exists for key: fixed-main-{digest}" in save_log
    fixed = restore_log.split(f"Found a cache at key fixed-main-{digest}")[1]
    assert "build 1\n" in fixed and "build 3" not in fixed  # the first save of a key is never replaced


RETENTION_CONFIG = """\
version: 2.1
jobs:
  restore:
    docker: [{image: cimg/base:stable}]
    steps:
      - restore_cache: {key: r-}
      - run: cat marker 2>/dev/null || echo "no marker"
  save:
    docker: [{image: cimg/base:stable}]
    steps:
      - run: echo "saved by $CIRCLE_BUILD_NUM" > marker
      - save_cache: {key: "r-{{ .BuildNum }}", paths: [marker]}
workflows:
  main:
    jobs:
      - restore
      - save: {requires: [restore]}
"""


async def _retention(settings: Settings, *args: str) -> str:
    env = {"CIRCLET_DATABASE_URL": settings.database_url, "CIRCLET_DATA_DIR": str(settings.data_dir)}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["project", "cache-retention", "gh/acme/app", *args], env=env
    )
    assert result.exit_code == 0, result.output
    return result.stdout


async def _cache_files(settings: Settings) -> set[str]:
    return {p.name for p in (settings.data_dir / "storage" / "caches").rglob("*") if p.is_file()}


async def test_project_retention_expires_prunes_and_is_never_restored(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_repo: MakeRepo,
    make_project: MakeProject,
    runner,
    settings: Settings,
) -> None:
    account = await make_user()
    await make_project(make_repo(RETENTION_CONFIG))
    await runner()
    assert await _retention(settings) == (
        "caches of gh/acme/app are restorable for 15 days (the server's default)\n"
    )
    await run_pipeline(client, account)  # saves r-2
    second = await run_pipeline(client, account)  # restores r-2, saves r-4
    assert "saved by 2" in await job_log(client, account, second["restore"]["job_number"])
    assert len(await _cache_files(settings)) == 2

    assert await _retention(settings, "0.5") == (
        "caches of gh/acme/app are restorable for 0.5 days (set for the project)\n"
    )
    assert len(await _cache_files(settings)) == 2  # both are younger than half a day
    second_s = 1 / 86400
    out = await _retention(settings, str(2 * second_s))  # both caches are older than that
    await asyncio.sleep(2.1)
    assert "restorable for 2.31481e-05 days (set for the project)" in out
    third = await run_pipeline(client, account)
    restore_log = await job_log(client, account, third["restore"]["job_number"])
    assert "No cache is found for keys: r-" in restore_log and "no marker" in restore_log
    assert len(await _cache_files(settings)) == 1  # the save pruned the expired two; r-6 is left

    await asyncio.sleep(2.1)  # r-6 expires too: a restore never sees it, even before it is pruned
    fourth = await run_pipeline(client, account)
    assert "No cache is found" in await job_log(client, account, fourth["restore"]["job_number"])

    out = await _retention(settings, "--default")
    assert out.endswith("caches of gh/acme/app are restorable for 15 days (the server's default)\n")
    fifth = await run_pipeline(client, account)  # r-8 (saved under the default) is restored
    assert "saved by 8" in await job_log(client, account, fifth["restore"]["job_number"])
    refused = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["project", "cache-retention", "gh/acme/app", "0"],
        env={"CIRCLET_DATABASE_URL": settings.database_url, "CIRCLET_DATA_DIR": str(settings.data_dir)},
    )
    assert refused.exit_code == 1 and "more than 0" in refused.output
