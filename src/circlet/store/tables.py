"""ORM rows. They never leave the store: query functions turn them into domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from circlet.store._types import JSONColumn, UTCDateTime

ID = String(36)


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrgRow(Base):
    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    vcs_type: Mapped[str] = mapped_column(String(20))  #: gh | bb | circleci
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(250), unique=True)  #: gh/acme
    avatar_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MembershipRow(Base):
    __tablename__ = "memberships"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="member")


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: sha256 hex
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RunnerTokenRow(Base):
    __tablename__ = "runner_tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    resource_class: Mapped[str] = mapped_column(String(200), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nickname: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProjectRow(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(400), unique=True)  #: gh/acme/app
    name: Mapped[str] = mapped_column(String(200))
    repo_url: Mapped[str] = mapped_column(Text)
    default_branch: Mapped[str] = mapped_column(String(250), default="main")
    pipeline_seq: Mapped[int] = mapped_column(Integer, default=0)
    job_seq: Mapped[int] = mapped_column(Integer, default=0)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PipelineRow(Base):
    __tablename__ = "pipelines"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        Index("ix_pipelines_project_created", "project_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger_type: Mapped[str] = mapped_column(String(40))
    trigger_received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    branch: Mapped[str | None] = mapped_column(String(250))
    tag: Mapped[str | None] = mapped_column(String(250))
    revision: Mapped[str] = mapped_column(String(64), default="")
    vcs: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)
    trigger_parameters: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONColumn, default=list)
    config_source: Mapped[str] = mapped_column(Text, default="")
    config_compiled: Mapped[str] = mapped_column(Text, default="")
    setup_config: Mapped[str] = mapped_column(Text, default="")
    setup_config_compiled: Mapped[str] = mapped_column(Text, default="")
    continuation_key_hash: Mapped[str | None] = mapped_column(String(64))
    continued: Mapped[bool] = mapped_column(Boolean, default=False)


class WorkflowRow(Base):
    __tablename__ = "workflows"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[str | None] = mapped_column(String(36))
    canceled_by: Mapped[str | None] = mapped_column(String(36))
    errored_by: Mapped[str | None] = mapped_column(String(36))
    tag: Mapped[str | None] = mapped_column(String(50))  #: "setup" for setup workflows
    rerun_of: Mapped[str | None] = mapped_column(String(36))
    auto_reruns_left: Mapped[int] = mapped_column(Integer, default=0)  #: from ``max_auto_reruns``


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("project_id", "number"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), index=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column(Integer)  #: approval jobs have none
    name: Mapped[str] = mapped_column(String(250))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    requires: Mapped[list[str]] = mapped_column(JSONColumn, default=list)
    requires_statuses: Mapped[dict[str, list[str]]] = mapped_column(JSONColumn, default=dict)
    contexts: Mapped[list[str]] = mapped_column(JSONColumn, default=list)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)
    resource_class: Mapped[str] = mapped_column(String(200), default="medium")
    parallelism: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approval_request_id: Mapped[str | None] = mapped_column(String(36))
    approved_by: Mapped[str | None] = mapped_column(String(36))
    canceled_by: Mapped[str | None] = mapped_column(String(36))
    message: Mapped[str | None] = mapped_column(Text)


class TaskRow(Base):
    """One parallel run of a job (``node_index``); the unit a runner claims."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("job_id", "node_index"),
        Index("ix_tasks_claim", "status", "resource_class", "created_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    node_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    resource_class: Mapped[str] = mapped_column(String(200))
    runner_id: Mapped[str | None] = mapped_column(String(36))
    runner_name: Mapped[str | None] = mapped_column(String(200))
    lease_id: Mapped[str | None] = mapped_column(String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StepRow(Base):
    """One step of one task: an ``action`` in CircleCI's v1.1 terms."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("task_id", "step_index"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    node_index: Mapped[int] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(40), default="run")
    status: Mapped[str] = mapped_column(String(20))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    output_bytes: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)


class RunnerRow(Base):
    __tablename__ = "runners"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("runner_tokens.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    resource_class: Mapped[str] = mapped_column(String(200))
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OrbRow(Base):
    __tablename__ = "orbs"
    __table_args__ = (UniqueConstraint("namespace", "name", "version"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    namespace: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BlobRow(Base):
    """Small binary values kept in the database (e.g. the server's generated key)."""

    __tablename__ = "blobs"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
