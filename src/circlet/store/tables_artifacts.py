"""Rows for what jobs store on the server: caches, workspace layers, artifacts, and received test results.

The bytes live in files under the data dir (see :mod:`circlet.store.files`); these rows say what exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from circlet.store._types import UTCDateTime
from circlet.store.tables import ID, Base

CACHE_KEY = String(1024)  #: CircleCI caps keys at 900 characters


class CacheRow(Base):
    """One saved cache of a project. A key is written once and never replaced."""

    __tablename__ = "caches"
    __table_args__ = (
        UniqueConstraint("project_id", "key", name="uq_caches_project_key"),
        Index("ix_caches_expiry", "project_id", "expires_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(CACHE_KEY)
    archive_format: Mapped[str] = mapped_column(String(20))  #: tar+gzip | tar+zstd
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[str] = mapped_column(ID)  #: the job that saved it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkspaceLayerRow(Base):
    """What one ``persist_to_workspace`` step of one node of a job added to its workflow's workspace."""

    __tablename__ = "workspace_layers"
    __table_args__ = (
        UniqueConstraint("job_id", "node_index", "step_index", name="uq_workspace_layers_step"),
        Index("ix_workspace_layers_workflow", "workflow_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ID)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    job_name: Mapped[str] = mapped_column(String(250))
    node_index: Mapped[int] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer)
    archive_format: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ArtifactRow(Base):
    """One file a job stored with ``store_artifacts``; the same path stored again replaces it."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("job_id", "node_index", "path", name="uq_artifacts_path"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    node_index: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TestUploadRow(Base):
    """A ``store_test_results`` step whose results were recorded, so a retried upload records nothing twice."""

    __test__ = False
    __tablename__ = "test_uploads"
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    step_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
