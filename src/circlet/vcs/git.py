"""Read a project's repository with the git CLI: resolve refs, read files, describe commits."""

from __future__ import annotations

import asyncio
import functools
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from circlet.errors import NotFound, VcsError

_T = TypeVar("_T")

GIT_TIMEOUT_S = 60.0
#: git must never prompt (no terminal, no credential helpers asking for a password)
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "/bin/true",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/tmp"),
    "LANG": "C",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Commit:
    revision: str
    subject: str
    body: str
    author_name: str
    author_email: str


async def _git(repo: str, *args: str, check: bool = True) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        "git",
        "--git-dir" if _is_bare_or_url(repo) else "-C",
        _git_dir(repo),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_GIT_ENV,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except TimeoutError as exc:
        proc.kill()
        raise VcsError(f"git {args[0]} timed out after {GIT_TIMEOUT_S:.0f}s") from exc
    if check and proc.returncode != 0:
        raise VcsError(f"git {args[0]} failed: {err.decode(errors='replace').strip()}")
    return proc.returncode or 0, out, err


def _is_bare_or_url(repo: str) -> bool:
    return (
        os.path.isdir(repo)
        and not os.path.exists(os.path.join(repo, ".git"))
        and os.path.exists(os.path.join(repo, "HEAD"))
    )


def _git_dir(repo: str) -> str:
    if is_remote(repo):
        raise VcsError(f"remote repositories must be mirrored locally first: {repo}")
    return repo


def is_remote(repo: str) -> bool:
    return "://" in repo or (repo.startswith("git@") and ":" in repo)


async def local_repo(repo_url: str, mirror_dir: str) -> str:
    """A local path to read ``repo_url`` from: the path itself, or a bare mirror fetched now."""
    if not is_remote(repo_url):
        if not os.path.isdir(repo_url):
            raise VcsError(f"The project's repository {repo_url} does not exist on the server.")
        return repo_url
    if os.path.isdir(mirror_dir):
        await _run(
            "git",
            "--git-dir",
            mirror_dir,
            "fetch",
            "--prune",
            "--tags",
            "origin",
            "+refs/heads/*:refs/heads/*",
        )
    else:
        os.makedirs(os.path.dirname(mirror_dir), exist_ok=True)
        await _run("git", "clone", "--mirror", "--quiet", repo_url, mirror_dir)
    return mirror_dir


async def _run(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=_GIT_ENV,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except TimeoutError as exc:
        proc.kill()
        raise VcsError(f"{argv[1]} of the repository timed out") from exc
    if proc.returncode != 0:
        raise VcsError(f"git {argv[1]} failed: {err.decode(errors='replace').strip()}")


async def resolve_ref(
    repo: str, *, branch: str | None = None, tag: str | None = None, revision: str | None = None
) -> str:
    """Return the full commit SHA for a branch, tag or revision. Raises NotFound for an unknown ref."""
    spec, what = _ref_spec(branch=branch, tag=tag, revision=revision)
    code, out, _ = await _git(repo, "rev-parse", "--verify", "--quiet", spec, check=False)
    sha = out.decode().strip()
    if code != 0 or not _SHA.fullmatch(sha):  # "^HEAD" verifies, as a negated sha
        raise NotFound(f"Unknown {what} in the project's repository.")
    return sha


async def resolve_commit(
    repo: str, *, branch: str | None = None, tag: str | None = None, revision: str | None = None
) -> Commit:
    """``resolve_ref`` and ``describe_commit`` in one git process (a trigger's hot path).
    Raises NotFound for an unknown ref.

    Calls for the same ref while one is running share its answer (a burst of triggers of one
    branch spawns one git process, not one each): the ref is read after every one of them arrived.
    """
    return await _shared(
        ("resolve", repo, branch, tag, revision),
        lambda: _resolve_commit(repo, branch=branch, tag=tag, revision=revision),
    )


async def _resolve_commit(repo: str, *, branch: str | None, tag: str | None, revision: str | None) -> Commit:
    spec, what = _ref_spec(branch=branch, tag=tag, revision=revision)
    code, out, _ = await _git(repo, "show", "-s", _COMMIT_FORMAT, "--end-of-options", spec, check=False)
    if code != 0:
        raise NotFound(f"Unknown {what} in the project's repository.")
    if ".." in spec or out.count(b"\x00") != _COMMIT_FORMAT.count("%x00"):  # a range or a negation
        resolved = await resolve_ref(repo, branch=branch, tag=tag, revision=revision)
        return await describe_commit(repo, resolved)
    return _parse_commit(out)


_FILE_CACHE_MAX = 256  # files kept by read_file (a commit's content never changes)
_file_cache: OrderedDict[tuple[str, str, str], str] = OrderedDict()


async def read_file(repo: str, revision: str, path: str) -> str | None:
    """The text of ``path`` at ``revision``, or None when the file does not exist there.

    A file read at a full commit SHA is kept (least recently used first out): the content of a
    commit never changes, so triggers of the same commit spawn no git process for it. A missing
    file is not kept (a failed read may be passing).
    """
    key = (repo, revision, path)
    if key in _file_cache:
        _file_cache.move_to_end(key)
        return _file_cache[key]
    text = await _shared(("read", *key), lambda: _read_file(repo, revision, path))
    if text is not None and _SHA.fullmatch(revision):
        _file_cache[key] = text
        if len(_file_cache) > _FILE_CACHE_MAX:
            _file_cache.popitem(last=False)
    return text


async def _read_file(repo: str, revision: str, path: str) -> str | None:
    code, out, _ = await _git(repo, "show", f"{revision}:{path}", check=False)
    return None if code != 0 else out.decode("utf-8", errors="replace")


_in_flight: dict[tuple[object, ...], asyncio.Future[Any]] = {}


async def _shared(key: tuple[object, ...], call: Callable[[], Awaitable[_T]]) -> _T:
    """``call()``, or the answer of the same call already running in this event loop. A caller that
    is cancelled does not cancel it for the others."""
    key = (asyncio.get_running_loop(), *key)
    running = _in_flight.get(key)
    if running is None:
        running = asyncio.ensure_future(call())
        _in_flight[key] = running
        running.add_done_callback(functools.partial(_landed, key))
    return cast(_T, await asyncio.shield(running))


def _landed(key: tuple[object, ...], done: asyncio.Future[Any]) -> None:
    if _in_flight.get(key) is done:
        del _in_flight[key]
    if not done.cancelled():
        done.exception()  # retrieved: every caller that still waits gets it raised


async def describe_commit(repo: str, revision: str) -> Commit:
    _, out, _ = await _git(repo, "show", "-s", _COMMIT_FORMAT, revision)
    return _parse_commit(out)


_COMMIT_FORMAT = "--format=%H%x00%an%x00%ae%x00%B"
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _ref_spec(*, branch: str | None, tag: str | None, revision: str | None) -> tuple[str, str]:
    """(git revision spec, what it names). Raises NotFound for a name no git ref can have (a NUL
    byte cannot even be passed to git as an argument)."""
    if revision:
        spec, what = f"{revision}^{{commit}}", f"revision {revision!r}"
    elif tag:
        spec, what = f"refs/tags/{tag}^{{commit}}", f"tag {tag!r}"
    else:
        spec, what = f"refs/heads/{branch}^{{commit}}", f"branch {branch!r}"
    if "\x00" in spec:
        raise NotFound(f"Unknown {what} in the project's repository.")
    return spec, what


def _parse_commit(out: bytes) -> Commit:
    sha, name, email, message = out.decode("utf-8", errors="replace").split("\x00", 3)
    subject, _, body = message.strip().partition("\n")
    return Commit(
        revision=sha, subject=subject.strip(), body=body.strip(), author_name=name, author_email=email
    )
