"""``circlet local`` as a subprocess on a real git work tree: the job sees an uncommitted change,
caches and test timings are kept between runs, and a failing workflow exits non-zero."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import MakeRepo, git

CONFIG = """\
version: 2.1
parameters:
  expect:
    type: string
    default: miss
jobs:
  build:
    machine: true
    steps:
      - checkout
      - run: grep -q "uncommitted" hello.txt
      - restore_cache:
          keys: [c-]
      - run: |
          if [ -f ~/cached.txt ]; then got=hit; else got=miss; fi
          echo "cache: $got"
          [ "$got" = "<< pipeline.parameters.expect >>" ]
          echo data > ~/cached.txt
          mkdir -p results
          echo '<testsuite><testcase classname="t" name="a" file="tests/a.py" time="2.5"/></testsuite>' > results/t.xml
      - save_cache:
          key: c-{{ epoch }}
          paths: [~/cached.txt]
      - store_test_results:
          path: results
  other:
    machine: true
    steps:
      - run: "false"
workflows:
  main:
    jobs: [build]
"""


def _local(repo: Path, state: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLET_")} | {"HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "circlet", "local", str(repo), "--state-dir", str(state), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_local_runs_the_work_tree_keeps_caches_and_fails_loudly(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(CONFIG, {"hello.txt": "committed\n"})
    (repo / "hello.txt").write_text("uncommitted change\n")  # not committed: the job must see it
    (repo / "untracked.txt").write_text("new\n")
    state, home = tmp_path / "state", tmp_path / "home"
    home.mkdir()

    first = _local(repo, state, home, "--param", "expect=miss")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "main / build: success" in first.stdout and "success" in first.stdout
    (kept,) = state.iterdir()
    saved = json.loads((kept / "state.json").read_text())
    assert [c["key"].startswith("c-") for c in saved["caches"]] == [True]
    assert saved["timings"] == {"build": [["tests/a.py", "t", "a", 2.5]]}

    second = _local(repo, state, home, "--param", "expect=miss")  # the cache is restored now
    assert second.returncode == 1, second.stdout + second.stderr
    assert "main / build: failed" in second.stdout and "cache: hit" in second.stdout

    only = _local(repo, state, home, "--job", "other", "--keep")
    assert only.returncode == 1 and "local / other: failed" in only.stdout, only.stdout
    kept_dir = Path(only.stdout.split("circlet serve --data-dir", 1)[1].split()[0])
    assert (kept_dir / "circlet.db").is_file()
    shutil.rmtree(kept_dir.parent)
    status = git(repo, "status", "--porcelain")
    assert "M hello.txt" in status and "?? untracked.txt" in status  # the work tree is untouched
    assert git(repo, "stash", "list") == "" and len(git(repo, "log", "--format=%H").split()) == 1
