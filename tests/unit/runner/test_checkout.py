"""The checkout step against a real git repository made in a temp dir."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from circlet.protocol import CheckoutSpec, StepSpec
from circlet.runner.steps.checkout import checkout_script
from tests.unit.runner.conftest import RunTasks
from tests.unit.runner.fakes import make_assignment, run_step

CHECKOUT = StepSpec(type="checkout", name="Checkout code")


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with two commits on ``main``; returns (path, first sha, second sha)."""
    path = tmp_path / "origin"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("one\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "first")
    first = git(path, "rev-parse", "HEAD")
    (path / "README").write_text("two\n")
    git(path, "commit", "-q", "-am", "second")
    return path, first, git(path, "rev-parse", "HEAD")


def checkout_of(repo: tuple[Path, str, str], revision: str, branch: str | None = "main") -> CheckoutSpec:
    return CheckoutSpec(repository_url=str(repo[0]), revision=revision, branch=branch, tag=None)


async def test_checkout_clones_the_revision_on_its_branch(
    run_tasks: RunTasks, repo: tuple[Path, str, str]
) -> None:
    _, _, head = repo
    [task] = await run_tasks(
        make_assignment(
            CHECKOUT,
            run_step("git rev-parse HEAD; git rev-parse --abbrev-ref HEAD; cat README"),
            checkout=checkout_of(repo, head),
        )
    )
    assert task.status == "success", task.step(0).text
    assert task.step(1).text == f"{head}\nmain\ntwo\n"


async def test_checkout_key_is_written_privately_and_kept_for_later_git_calls(
    run_tasks: RunTasks, repo: tuple[Path, str, str]
) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
    [task] = await run_tasks(
        make_assignment(
            CHECKOUT,
            run_step('k=$(git config core.sshCommand | sed "s/.* -i //"); stat -c %a "$k"; cat "$k"'),
            checkout=checkout_of(repo, repo[2]),
            environment={"CHECKOUT_KEY": key},
        )
    )
    assert task.status == "success", task.step(0).text
    assert task.step(1).text == f"600\n{key}\n"


async def test_checkout_of_an_older_revision_into_a_path(
    run_tasks: RunTasks, repo: tuple[Path, str, str]
) -> None:
    _, first, _ = repo
    [task] = await run_tasks(
        make_assignment(
            {"type": "checkout", "name": "Checkout code", "path": "src"},
            run_step("git rev-parse HEAD; cat README", working_directory="src"),
            checkout=checkout_of(repo, first, branch=None),
        )
    )
    assert task.status == "success", task.step(0).text
    assert task.step(1).text == f"{first}\none\n"


async def test_checkout_twice_fetches_into_the_existing_clone(
    run_tasks: RunTasks, repo: tuple[Path, str, str]
) -> None:
    _, first, head = repo
    [task] = await run_tasks(
        make_assignment(CHECKOUT, CHECKOUT, run_step("git rev-parse HEAD"), checkout=checkout_of(repo, head))
    )
    assert task.status == "success", task.step(1).text
    assert task.step(2).text == f"{head}\n"
    assert first


async def test_checkout_into_a_non_repository_directory_fails(
    run_tasks: RunTasks, repo: tuple[Path, str, str]
) -> None:
    [task] = await run_tasks(
        make_assignment(run_step("touch junk"), CHECKOUT, checkout=checkout_of(repo, repo[2]))
    )
    assert task.status == "failed"
    assert "is not empty" in task.step(1).text


async def test_checkout_of_an_unknown_revision_fails(
    run_tasks: RunTasks, repo: tuple[Path, str, str]
) -> None:
    [task] = await run_tasks(make_assignment(CHECKOUT, checkout=checkout_of(repo, "f" * 40)))
    assert task.status == "failed"
    assert task.step(0).status == "failed"


def test_checkout_script_hides_credentials_in_its_banner() -> None:
    spec = CheckoutSpec(
        repository_url="https://x-access-token:ghs_secret@github.com/acme/app.git",
        revision="abc",
        branch=None,
        tag=None,
    )
    script = checkout_script(spec, "/w")
    banner = script.splitlines()[1]
    assert "ghs_secret" not in banner
    assert "https://github.com/acme/app.git" in banner
