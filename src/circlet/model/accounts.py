"""Users, organizations and projects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from circlet.types import OrgId, ProjectId, UserId


@dataclass(frozen=True, kw_only=True, slots=True)
class User:
    id: UserId
    login: str
    name: str
    avatar_url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Org:
    id: OrgId
    vcs_type: str  #: gh | bb | circleci
    name: str
    slug: str  #: gh/acme


@dataclass(frozen=True, kw_only=True, slots=True)
class Project:
    id: ProjectId
    org_id: OrgId
    org_name: str
    org_slug: str
    slug: str  #: gh/acme/app (short VCS form)
    name: str
    repo_url: str
    default_branch: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def vcs_type(self) -> str:
        return self.slug.split("/", 1)[0]

    @property
    def org_login(self) -> str:
        return self.slug.split("/")[1]
