"""Inbound push hooks from GitHub, Gitea/Forgejo and GitLab: verify, parse, trigger a pipeline.

Verification comes first and against the project's own secret; nothing is read from an unverified
body. A verified push of a branch or tag triggers a pipeline with ``trigger.type: webhook`` at the
pushed commit. Pings, other events, deleted refs and refs that are neither branches nor tags are
acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.pipelines import TriggerRequest, trigger_pipeline
from circlet.engine.secrets import box_for
from circlet.engine.slugs import normalize_project_slug
from circlet.errors import BadRequest, Forbidden, NotFound, Unauthorized
from circlet.model.accounts import Project, User
from circlet.model.pipelines import Pipeline
from circlet.store import accounts as account_store
from circlet.store import projects as project_store
from circlet.store import push_secrets as secret_store
from circlet.store._types import utcnow

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  #: GitHub's own cap on a delivery
ZERO_SHA = "0" * 40
_EVENT_HEADERS = ("x-github-event", "x-gitea-event", "x-forgejo-event", "x-gogs-event", "x-gitlab-event")
_PUSH_EVENTS = {"push", "push hook", "tag push hook"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Push:
    """A verified push of one ref."""

    provider: str  #: github | gitea | forgejo | gitlab
    branch: str | None
    tag: str | None
    revision: str | None  #: None when the ref was deleted
    pusher: str | None  #: the pusher's login, if the payload names one


@dataclass(frozen=True, kw_only=True, slots=True)
class PushOutcome:
    pipeline: Pipeline | None
    message: str


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> str:
    """Check the delivery's signature or token against ``secret``; return the provider's name.

    Raises:
        Unauthorized: no signature header, or one that does not match.
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    for header, provider in (("x-forgejo-signature", "forgejo"), ("x-gitea-signature", "gitea")):
        if header in headers:
            return _matches(headers[header].strip().lower(), digest, provider)
    if "x-hub-signature-256" in headers:
        given = headers["x-hub-signature-256"].strip()
        scheme, _, value = given.partition("=")
        provider = "gitea" if "x-gitea-event" in headers else "github"
        return _matches(value.lower() if scheme == "sha256" else "", digest, provider)
    if "x-gitlab-token" in headers:
        return _matches(headers["x-gitlab-token"], secret, "gitlab")
    raise Unauthorized(
        "The push hook carries no signature (X-Hub-Signature-256, X-Gitea-Signature, X-Gitlab-Token)."
    )


def _matches(given: str, expected: str, provider: str) -> str:
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("The push hook's signature does not match the project's push secret.")
    return provider


def parse(headers: Mapping[str, str], body: bytes, provider: str) -> Push | None:
    """The push in a verified delivery, or None for other events (ping, pull requests...).

    Raises:
        BadRequest: the body is not the JSON of a push event.
    """
    event = next((headers[h].strip().lower() for h in _EVENT_HEADERS if h in headers), "push")
    if event not in _PUSH_EVENTS:
        return None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The push hook's body is not JSON.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("ref"), str):
        raise BadRequest("The push hook's body has no ref.")
    ref: str = payload["ref"]
    after = payload.get("after") or payload.get("checkout_sha")
    deleted = bool(payload.get("deleted")) or not after or after == ZERO_SHA
    if not isinstance(after, str | None):
        raise BadRequest("The push hook's after is not a commit.")
    return Push(
        provider=provider,
        branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None,
        tag=ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else None,
        revision=None if deleted else after,
        pusher=_pusher(payload),
    )


def _pusher(payload: Mapping[str, Any]) -> str | None:
    for path in (("sender", "login"), ("pusher", "login"), ("pusher", "username"), ("user_username",)):
        node: Any = payload
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, str) and node:
            return node
    return None


async def receive_push(
    tx: AsyncSession, project_slug: str, headers: Mapping[str, str], body: bytes, *, mirrors_dir: Path
) -> PushOutcome:
    """Verify a delivery for ``project_slug`` and trigger its pipeline.

    Raises:
        NotFound: no such project. Forbidden: the project has no push secret.
        Unauthorized: bad or missing signature. BadRequest: malformed body or unknown commit.
    """
    headers = {k.lower(): v for k, v in headers.items()}
    project = await project_store.find_project(tx, normalize_project_slug(project_slug))
    if project is None:
        raise NotFound("Project not found.")
    sealed = await secret_store.sealed_push_secret(tx, project.id)
    if sealed is None:
        raise Forbidden("Push hooks are not enabled for this project: set a push secret first.")
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("The push hook's body is too large.")
    push = parse(headers, body, verify(headers, body, box_for(tx).open(sealed)))
    if push is None:
        return PushOutcome(pipeline=None, message="Verified; not a push event, ignored.")
    if push.revision is None or not (push.branch or push.tag):
        return PushOutcome(pipeline=None, message="Verified; deleted or non-branch ref, ignored.")
    request = TriggerRequest(
        branch=push.branch,
        tag=push.tag,
        revision=push.revision,
        trigger_type="webhook",
        trigger_source="webhook",
    )
    actor = await _actor(tx, project, push.pusher)
    pipeline = await trigger_pipeline(tx, project, actor, request, mirrors_dir=mirrors_dir)
    log.info(
        "push hook from %s triggered pipeline %s",
        push.provider,
        pipeline.id,
        extra={"action": "push_triggered", "pipeline_id": pipeline.id, "provider": push.provider},
    )
    return PushOutcome(pipeline=pipeline, message="Pipeline created.")


async def _actor(tx: AsyncSession, project: Project, login: str | None) -> User | None:
    """The pusher, when a user of that login belongs to the project's org."""
    if not login:
        return None
    user = await account_store.find_user_by_login(tx, login)
    if user is None or project.org_id not in await account_store.user_org_ids(tx, user.id):
        return None
    return user


async def new_push_secret(tx: AsyncSession, project_slug: str) -> str:
    """Generate, store and return a fresh push secret for a project (replacing any old one)."""
    project = await project_store.find_project(tx, normalize_project_slug(project_slug))
    if project is None:
        raise NotFound("Project not found.")
    secret = secrets.token_hex(32)
    await secret_store.set_push_secret(tx, project.id, box_for(tx).seal(secret), now=utcnow())
    return secret
