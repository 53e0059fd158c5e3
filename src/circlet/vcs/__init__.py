"""Git access for the server: resolve refs, read files at a commit, mirror remote repositories."""

from __future__ import annotations

from circlet.vcs.git import (
    Commit,
    describe_commit,
    is_remote,
    local_repo,
    read_file,
    resolve_commit,
    resolve_ref,
)

__all__ = [
    "Commit",
    "describe_commit",
    "is_remote",
    "local_repo",
    "read_file",
    "resolve_commit",
    "resolve_ref",
]
