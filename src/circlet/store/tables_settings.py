"""Tables of project settings and secrets: env vars, contexts and their env vars and restrictions,
checkout keys. Secret columns hold Fernet tokens only (``sealed``), never a clear value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from circlet.store._types import UTCDateTime
from circlet.store.tables import ID, Base


class ProjectEnvVarRow(Base):
    __tablename__ = "project_envvars"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContextRow(Base):
    __tablename__ = "contexts"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContextEnvVarRow(Base):
    __tablename__ = "context_envvars"
    context_id: Mapped[str] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContextRestrictionRow(Base):
    __tablename__ = "context_restrictions"
    __table_args__ = (UniqueConstraint("context_id", "type", "value"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    context_id: Mapped[str] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))  #: project | expression
    value: Mapped[str] = mapped_column(String(1000))
    name: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CheckoutKeyRow(Base):
    __tablename__ = "checkout_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    public_key: Mapped[str] = mapped_column(Text)
    private_key_sealed: Mapped[str] = mapped_column(Text)
    fingerprint_md5: Mapped[str] = mapped_column(String(100))
    fingerprint_sha256: Mapped[str] = mapped_column(String(100))
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
