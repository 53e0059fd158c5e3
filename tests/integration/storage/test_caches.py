"""save_cache / restore_cache through real runners: prefix keys, newest match wins, a key is saved once."""

from __future__ import annotations

import base64
import hashlib

import httpx

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
