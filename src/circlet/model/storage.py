"""What jobs keep on the server between runs and for people: caches, workspace layers, artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Cache:
    """A saved cache of a project (``save_cache``)."""

    id: str
    project_id: str
    key: str
    archive_format: str  #: tar+gzip | tar+zstd
    size_bytes: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkspaceLayer:
    """What one ``persist_to_workspace`` step added to a workflow's workspace."""

    id: str
    workflow_id: str
    job_id: str
    job_name: str
    node_index: int
    step_index: int
    archive_format: str
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Artifact:
    """One file a job stored with ``store_artifacts``."""

    id: str
    job_id: str
    node_index: int
    path: str  #: where it appears in the listing (the step's ``destination`` joined with the file's path)
    size_bytes: int
    created_at: datetime
