"""A burst of triggers of one ref reads the repository once: calls for the same ref or file while
one is running share its git process and its answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from circlet.errors import NotFound
from circlet.vcs import git as git_module
from tests.conftest import MakeRepo

GitCall = Callable[..., Awaitable[tuple[int, bytes, bytes]]]


@pytest.fixture
def git_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The git commands run, each still run by the real git."""
    runs: list[tuple[str, ...]] = []
    real: GitCall = git_module._git

    async def counted(repo: str, *args: str, check: bool = True) -> tuple[int, bytes, bytes]:
        runs.append(args)
        return await real(repo, *args, check=check)

    monkeypatch.setattr(git_module, "_git", counted)
    return runs


async def test_a_burst_of_the_same_ref_spawns_one_git(
    make_repo: MakeRepo, git_runs: list[tuple[str, ...]]
) -> None:
    repo = str(make_repo("version: 2.1\n"))
    commits = await asyncio.gather(*(git_module.resolve_commit(repo, branch="main") for _ in range(20)))
    assert len({c.revision for c in commits}) == 1
    assert len(git_runs) == 1
    texts = await asyncio.gather(
        *(git_module.read_file(repo, commits[0].revision, ".circleci/config.yml") for _ in range(20))
    )
    assert texts == ["version: 2.1\n"] * 20
    assert len(git_runs) == 2
    await git_module.resolve_commit(repo, branch="main")  # once the burst is answered, read again
    assert len(git_runs) == 3


async def test_an_unknown_ref_fails_every_caller_of_the_burst(
    make_repo: MakeRepo, git_runs: list[tuple[str, ...]]
) -> None:
    repo = str(make_repo("version: 2.1\n"))
    results = await asyncio.gather(
        *(git_module.resolve_commit(repo, branch="nope") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, NotFound) for r in results)
    assert len(git_runs) == 1


async def test_a_cancelled_caller_does_not_cancel_the_others(make_repo: MakeRepo) -> None:
    repo = str(make_repo("version: 2.1\n"))
    first = asyncio.create_task(git_module.resolve_commit(repo, branch="main"))
    second = asyncio.create_task(git_module.resolve_commit(repo, branch="main"))
    await asyncio.sleep(0)
    first.cancel()
    commit = await asyncio.wait_for(second, 10)
    assert len(commit.revision) == 40
    with pytest.raises(asyncio.CancelledError):
        await first
