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


SECRETS_CONFIG = """\
version: 2.1
jobs:
  deploy:
    machine: true
    steps:
      - run: |
          echo "ctx=$DEPLOY_TOKEN file=$FROM_FILE cli=$FROM_CLI short=$SHORT"
          [ "$DEPLOY_TOKEN" = "ctx-token-9f8e" ] && [ "$FROM_FILE" = "file value" ] \\
            && [ "$FROM_CLI" = "cli-value-1234" ] && [ "$OTHER" = "from-other-context" ] && echo "values: right"
          exit 1
workflows:
  main:
    jobs:
      - deploy: {context: [deploy, other]}
"""


def test_local_contexts_and_env_vars_reach_jobs_masked(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo(SECRETS_CONFIG)
    contexts = tmp_path / "contexts.yml"
    contexts.write_text(
        "deploy:\n  DEPLOY_TOKEN: ctx-token-9f8e\n  SHORT: abc\nother:\n  OTHER: from-other-context\n"
    )
    env_file = tmp_path / "project.env"
    env_file.write_text('# project variables\nexport FROM_FILE="file value"\nFROM_CLI=overridden\n')
    state, home = tmp_path / "state", tmp_path / "home"
    home.mkdir()

    run = _local(
        repo,
        state,
        home,
        "--context-file",
        str(contexts),
        "--env-file",
        str(env_file),
        "-e",
        "FROM_CLI=cli-value-1234",
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output  # the step fails on purpose, so its output is shown
    assert "values: right" in output
    assert "ctx=******** file=******** cli=******** short=abc" in output
    assert "ctx-token-9f8e" not in output and "cli-value-1234" not in output and "file value" not in output

    json_contexts = tmp_path / "contexts.json"
    json_contexts.write_text(json.dumps({"deploy": {"DEPLOY_TOKEN": "x"}}))
    missing = _local(repo, state, home, "--context-file", str(json_contexts))
    assert missing.returncode == 1 and "unauthorized" in missing.stdout, missing.stdout + missing.stderr

    bad = tmp_path / "bad.yml"
    bad.write_text("deploy: [not, a, mapping]\n")
    refused = _local(repo, state, home, "--context-file", str(bad), "-e", "NOEQUALS")
    assert refused.returncode == 2 and "context 'deploy' wants a mapping" in refused.stdout
    bad_name = _local(repo, state, home, "-e", "1BAD=x")
    assert bad_name.returncode == 2 and "Invalid environment variable name" in bad_name.stdout
