"""``circlet serve --demo``: a user, an org, a project backed by a fresh git repo, and one pipeline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from circlet.engine import accounts, projects
from circlet.engine.pipelines import TriggerRequest, trigger_pipeline
from circlet.settings import Settings
from circlet.store.db import Store

DEMO_SLUG = "gh/demo/hello"
DEMO_CONFIG = """\
version: 2.1

parameters:
  greeting:
    type: string
    default: hello

jobs:
  build:
    docker:
      - image: cimg/base:stable
    steps:
      - checkout
      - run:
          name: Say << pipeline.parameters.greeting >>
          command: echo "<< pipeline.parameters.greeting >> from $CIRCLE_PROJECT_REPONAME at ${CIRCLE_SHA1:0:7}"
      - run: ls -la
  test:
    docker:
      - image: cimg/base:stable
    steps:
      - checkout
      - run:
          name: Run the tests
          command: ./test.sh
  lint:
    docker:
      - image: cimg/base:stable
    steps:
      - run: echo "lint is clean"

workflows:
  build-and-test:
    jobs:
      - build
      - test:
          requires: [build]
  lint:
    jobs:
      - lint
"""
DEMO_TEST = '#!/usr/bin/env bash\nset -e\nfor i in 1 2 3; do echo "test $i: ok"; done\n'


def make_demo_repo(path: Path) -> None:
    """A git repository with the sample config and one commit (kept when it exists)."""
    if (path / ".git").exists():
        return
    (path / ".circleci").mkdir(parents=True, exist_ok=True)
    (path / ".circleci" / "config.yml").write_text(DEMO_CONFIG)
    (path / "test.sh").write_text(DEMO_TEST)
    (path / "test.sh").chmod(0o755)
    (path / "README.md").write_text("# hello\n\nA demo project for circlet.\n")
    env = {
        "GIT_AUTHOR_NAME": "circlet demo",
        "GIT_AUTHOR_EMAIL": "demo@circlet.invalid",
        "GIT_COMMITTER_NAME": "circlet demo",
        "GIT_COMMITTER_EMAIL": "demo@circlet.invalid",
        "PATH": "/usr/bin:/bin",
    }
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "Add a CircleCI config"],
    ):
        subprocess.run(argv, cwd=path, env=env, check=True)


async def run_demo(store: Store, settings: Settings) -> None:
    repo = settings.data_dir / "demo" / "hello"
    make_demo_repo(repo)
    async with store.transaction() as tx:
        user = await accounts.find_user(tx, "demo")
        if user is None:
            user, token = await accounts.create_user(tx, login="demo", name="Demo User", org="gh/demo")
        else:
            token = await accounts.create_token(tx, "demo", label="demo")
        project = await projects.find_project(tx, DEMO_SLUG)
        if project is None:
            project = await projects.add_project(tx, DEMO_SLUG, repo_url=str(repo))
    async with store.transaction() as tx:
        pipeline = await trigger_pipeline(
            tx,
            project,
            user,
            TriggerRequest(branch="main", parameters={"greeting": "hello"}),
            mirrors_dir=settings.data_dir / "mirrors",
        )
    base = settings.public_url()
    api = f"{base}/api/v2"
    typer.echo(
        f"""
Demo ready: user 'demo' in org gh/demo, project {DEMO_SLUG} (repo {repo}).
Pipeline #{pipeline.number} was triggered ({pipeline.state.value}).

  export T={token}
  curl -s -H "Circle-Token: $T" {api}/me
  curl -s -H "Circle-Token: $T" -X POST -H 'Content-Type: application/json' \\
       -d '{{"branch":"main","parameters":{{"greeting":"hi"}}}}' {api}/project/{DEMO_SLUG}/pipeline
  curl -s -H "Circle-Token: $T" {api}/project/{DEMO_SLUG}/pipeline
  curl -s -H "Circle-Token: $T" {api}/pipeline/{pipeline.id}/workflow

Stop with Ctrl-C; run 'circlet serve --demo' again at any time (it is safe to repeat).
"""
    )
