"""A commit of a working tree as it is now (uncommitted and untracked files included, ignored files
left out), in a temporary bare repository that borrows the work tree's objects: the user's
repository, index and refs are never written."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIG_PATH = ".circleci/config.yml"
LOCAL_WORKFLOW = "local"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "circlet local",
    "GIT_AUTHOR_EMAIL": "local@circlet.invalid",
    "GIT_COMMITTER_NAME": "circlet local",
    "GIT_COMMITTER_EMAIL": "local@circlet.invalid",
}


class SnapshotError(Exception):
    """The working tree cannot be snapshotted."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    repo: Path  #: the temporary bare repository a project can point at
    branch: str
    revision: str
    root: Path  #: the work tree's top directory


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SnapshotError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def work_tree_root(path: Path) -> Path:
    return Path(_git(path, "rev-parse", "--show-toplevel"))


def current_branch(root: Path) -> str:
    name = _git(root, "rev-parse", "--abbrev-ref", "HEAD") if _has_head(root) else ""
    return name if name and name != "HEAD" else "local"


def _has_head(root: Path) -> bool:
    return (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, check=False
        ).returncode
        == 0
    )


def snapshot(
    path: Path, dest: Path, *, branch: str | None = None, workflow: str | None = None, job: str | None = None
) -> Snapshot:
    """Commit the work tree at ``path`` into a new bare repository at ``dest`` on ``branch``.

    With ``workflow``, the config keeps only that workflow; with ``job``, it runs only that job (in
    a workflow named ``local``)."""
    root = work_tree_root(path)
    branch = branch or current_branch(root)
    objects = Path(_git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / "objects"
    _git(dest.parent, "init", "-q", "--bare", str(dest))
    (dest / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    index = dest / "snapshot-index"
    env = {
        **os.environ,
        **{k: v for k, v in _IDENTITY.items() if k not in os.environ},
        "GIT_INDEX_FILE": str(index),
        "GIT_OBJECT_DIRECTORY": str(dest / "objects"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects),
    }
    parent = ["-p", _git(root, "rev-parse", "HEAD")] if _has_head(root) else []
    if parent:
        _git(root, "read-tree", "HEAD", env=env)
    _git(root, "add", "-A", env=env)
    if workflow or job:
        _narrow_config(root, env, workflow=workflow, job=job)
    tree = _git(root, "write-tree", env=env)
    message = f"circlet local: the working tree of {root.name} ({branch})"
    revision = _git(root, "commit-tree", tree, *parent, "-m", message, env=env)
    _git(dest, "update-ref", f"refs/heads/{branch}", revision)
    _git(dest, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    index.unlink(missing_ok=True)
    return Snapshot(repo=dest, branch=branch, revision=revision, root=root)


def _narrow_config(root: Path, env: dict[str, str], *, workflow: str | None, job: str | None) -> None:
    try:
        config: Any = yaml.safe_load(_git(root, "show", f":{CONFIG_PATH}", env=env))
    except SnapshotError as exc:
        raise SnapshotError(f"no {CONFIG_PATH} in {root}") from exc
    if not isinstance(config, dict):
        raise SnapshotError(f"{CONFIG_PATH} is not a mapping")
    config["workflows"] = narrowed_workflows(config, workflow=workflow, job=job)
    blob = _git(root, "hash-object", "-w", "--stdin", env=env, stdin=yaml.safe_dump(config, sort_keys=False))
    _git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{CONFIG_PATH}", env=env)


def narrowed_workflows(config: dict[str, Any], *, workflow: str | None, job: str | None) -> dict[str, Any]:
    """The ``workflows`` section for one workflow, or for one job alone."""
    workflows = config.get("workflows") or {}
    if job is not None:
        if job not in (config.get("jobs") or {}):
            raise SnapshotError(f"no job {job!r}; the config has: {', '.join(config.get('jobs') or {})}")
        return {LOCAL_WORKFLOW: {"jobs": [job]}}
    names = [name for name in workflows if name != "version"]
    if workflow is None or workflow not in names:
        raise SnapshotError(f"no workflow {workflow!r}; the config has: {', '.join(names)}")
    kept = {workflow: workflows[workflow]}
    if "version" in workflows:
        kept = {"version": workflows["version"], **kept}
    return kept
