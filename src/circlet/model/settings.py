"""Project settings and secrets as stored: env vars, contexts, restrictions, checkout keys.

Secret values travel as ``sealed`` ciphertext; only ``circlet.engine.secrets`` opens them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from circlet.types import OrgId, ProjectId


@dataclass(frozen=True, kw_only=True, slots=True)
class SealedVar:
    """A named secret: a project env var or a context env var."""

    name: str
    sealed: str  #: Fernet token of the value
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Context:
    id: str
    org_id: OrgId
    name: str
    created_at: datetime


class RestrictionType(StrEnum):
    PROJECT = "project"  #: only the project whose id is the value may use the context
    EXPRESSION = "expression"  #: the expression must be true for the pipeline


@dataclass(frozen=True, kw_only=True, slots=True)
class Restriction:
    id: str
    context_id: str
    type: RestrictionType
    value: str
    name: str  #: the project's name for project restrictions, the expression otherwise


class CheckoutKeyType(StrEnum):
    DEPLOY_KEY = "deploy-key"
    USER_KEY = "github-user-key"


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckoutKey:
    id: str
    project_id: ProjectId
    type: CheckoutKeyType
    public_key: str  #: OpenSSH format, ``ssh-ed25519 AAAA...``
    private_key_sealed: str
    fingerprint_md5: str  #: ``aa:bb:...``
    fingerprint_sha256: str  #: ``SHA256:...``
    preferred: bool
    created_at: datetime
