"""Outbound webhooks: CRUD with tenancy checks, and CircleCI-shaped ``workflow-completed`` and
``job-completed`` events written to the outbox in the transaction that finished the job or workflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine.secrets import box_for, mask
from circlet.engine.slugs import LONG_NAMES
from circlet.errors import BadRequest, NotFound
from circlet.model.accounts import Project, User
from circlet.model.hooks import Webhook, WebhookEvent
from circlet.model.pipelines import Job, Pipeline, Workflow
from circlet.model.statuses import JobType
from circlet.store import accounts as account_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store import webhooks as webhook_store
from circlet.store import workflows as workflow_store
from circlet.store._types import utcnow
from circlet.types import ProjectId

#: uuid5 namespace of event ids: one stable id per (event, webhook, job or workflow).
EVENT_NAMESPACE = uuid.UUID("8d0e5f44-7a51-4b0b-9a43-1f2c0c3a5e7d")


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookChanges:
    """A create (every field but ``scope`` required) or update (None leaves a field as is) request."""

    name: str | None = None
    url: str | None = None
    events: Sequence[str] | None = None
    verify_tls: bool | None = None
    signing_secret: str | None = None
    scope_id: str | None = None
    scope_type: str | None = None


async def create_webhook(tx: AsyncSession, user: User, changes: WebhookChanges) -> Webhook:
    """Create a webhook on a project the user can see.

    Raises:
        BadRequest: a field is missing or invalid. NotFound: the project is not visible.
    """
    fields = (changes.name, changes.url, changes.events, changes.verify_tls, changes.signing_secret)
    if any(f is None for f in fields):
        raise BadRequest("name, events, url, verify-tls, signing-secret and scope are required.")
    project = await _scope_project(tx, user, changes.scope_id, changes.scope_type)
    return await webhook_store.create_webhook(
        tx,
        project_id=project.id,
        name=_name(changes.name or ""),
        url=_url(changes.url or ""),
        verify_tls=bool(changes.verify_tls),
        signing_secret_sealed=box_for(tx).seal(changes.signing_secret or ""),
        signing_secret_masked=mask(changes.signing_secret or ""),
        events=_events(changes.events or ()),
        now=utcnow(),
    )


async def update_webhook(tx: AsyncSession, user: User, webhook_id: str, changes: WebhookChanges) -> Webhook:
    await webhook_for(tx, user, webhook_id)
    values: dict[str, Any] = {}
    if changes.name is not None:
        values["name"] = _name(changes.name)
    if changes.url is not None:
        values["url"] = _url(changes.url)
    if changes.events is not None:
        values["events"] = _events(changes.events)
    if changes.verify_tls is not None:
        values["verify_tls"] = changes.verify_tls
    if changes.signing_secret is not None:
        values["signing_secret_sealed"] = box_for(tx).seal(changes.signing_secret)
        values["signing_secret_masked"] = mask(changes.signing_secret)
    return await webhook_store.update_webhook(tx, webhook_id, now=utcnow(), **values)


async def delete_webhook(tx: AsyncSession, user: User, webhook_id: str) -> None:
    await webhook_for(tx, user, webhook_id)
    await webhook_store.delete_webhook(tx, webhook_id)


async def webhook_for(tx: AsyncSession, user: User, webhook_id: str) -> Webhook:
    """The webhook, if the user belongs to its project's org (NotFound otherwise)."""
    webhook = await webhook_store.get_webhook(tx, webhook_id)
    project = await project_store.get_project(tx, webhook.scope_id)
    if project.org_id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Webhook not found.")
    return webhook


async def scope_webhooks(tx: AsyncSession, user: User, scope_id: str, scope_type: str) -> list[Webhook]:
    project = await _scope_project(tx, user, scope_id, scope_type)
    return await webhook_store.list_webhooks(tx, project.id)


async def _scope_project(
    tx: AsyncSession, user: User, scope_id: str | None, scope_type: str | None
) -> Project:
    if scope_type != "project":
        raise BadRequest("scope type must be project.")
    try:
        project = await project_store.get_project(tx, str(uuid.UUID(str(scope_id))))
    except (ValueError, NotFound) as exc:
        raise NotFound("Project not found.") from exc
    if project.org_id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Project not found.")
    return project


def _name(name: str) -> str:
    if not name.strip():
        raise BadRequest("name must not be empty.")
    return name.strip()


def _url(url: str) -> str:
    """http and https are both accepted (CircleCI cloud takes https only)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise BadRequest("url is not a valid URL.") from exc
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise BadRequest("url must be an absolute http:// or https:// URL.")
    return url


def _events(events: Sequence[str]) -> list[WebhookEvent]:
    if isinstance(events, str) or not events:
        raise BadRequest("events must be a non-empty list of workflow-completed, job-completed.")
    try:
        chosen = {WebhookEvent(e) for e in events}
    except ValueError as exc:
        raise BadRequest("events may only be workflow-completed and job-completed.") from exc
    return [e for e in WebhookEvent if e in chosen]


def event_id(event: WebhookEvent, webhook_id: str, entity_id: str) -> str:
    """Stable across retries and re-enqueues, so receivers can dedupe at-least-once deliveries."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{event.value}:{webhook_id}:{entity_id}"))


async def job_completed(tx: AsyncSession, job: Job) -> None:
    """Enqueue ``job-completed`` for every subscribed webhook of the job's project (build jobs only)."""
    if job.type is not JobType.BUILD:
        return
    hooks = await webhook_store.subscribed_webhooks(tx, job.project_id, WebhookEvent.JOB_COMPLETED)
    if not hooks:
        return
    workflow = await workflow_store.get_workflow(tx, job.workflow_id)
    body = await _common(tx, workflow.project_id, workflow.pipeline_id)
    body["workflow"] = workflow_json(workflow)
    body["job"] = job_json(job)
    await _enqueue(tx, hooks, WebhookEvent.JOB_COMPLETED, job.id, body, job.stopped_at)


async def workflow_completed(tx: AsyncSession, workflow: Workflow) -> None:
    """Enqueue ``workflow-completed`` for every subscribed webhook of the workflow's project."""
    hooks = await webhook_store.subscribed_webhooks(tx, workflow.project_id, WebhookEvent.WORKFLOW_COMPLETED)
    if not hooks:
        return
    body = await _common(tx, workflow.project_id, workflow.pipeline_id)
    body["workflow"] = workflow_json(workflow)
    await _enqueue(tx, hooks, WebhookEvent.WORKFLOW_COMPLETED, workflow.id, body, workflow.stopped_at)


async def _enqueue(
    tx: AsyncSession,
    hooks: Sequence[Webhook],
    event: WebhookEvent,
    entity_id: str,
    body: dict[str, Any],
    happened_at: datetime | None,
) -> None:
    now = utcnow()
    for hook in hooks:
        delivery_id = event_id(event, hook.id, entity_id)
        payload = {
            "id": delivery_id,
            "type": event.value,
            "happened_at": _iso(happened_at or now),
            "webhook": {"id": hook.id, "name": hook.name},
            **body,
        }
        await webhook_store.enqueue_delivery(
            tx, delivery_id=delivery_id, webhook_id=hook.id, event_type=event, payload=payload, now=now
        )


async def _common(tx: AsyncSession, project_id: ProjectId, pipeline_id: str) -> dict[str, Any]:
    project = await project_store.get_project(tx, project_id)
    pipeline = await pipeline_store.get_pipeline(tx, pipeline_id)
    return {
        "project": {"id": project.id, "name": project.name, "slug": _long_slug(project.slug)},
        "organization": {"id": project.org_id, "name": project.org_login},
        "pipeline": pipeline_json(pipeline),
    }


def _long_slug(slug: str) -> str:
    vcs, rest = slug.split("/", 1)
    return f"{LONG_NAMES.get(vcs, vcs)}/{rest}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    git: dict[str, Any] = {"checkout_sha": pipeline.revision}
    if pipeline.branch:
        git["branch"] = pipeline.branch
    if pipeline.tag:
        git["tag"] = pipeline.tag
    vcs = dict(pipeline.vcs)
    if "provider_name" in vcs:
        vcs["provider_name"] = str(vcs["provider_name"]).lower()
    return {
        "id": pipeline.id,
        "number": pipeline.number,
        "created_at": _iso(pipeline.created_at),
        "trigger": {"type": pipeline.trigger_type},
        "trigger_parameters": {"circleci": {"trigger_type": pipeline.trigger_type}, "git": git},
        "vcs": vcs,
    }


def workflow_json(workflow: Workflow) -> dict[str, Any]:
    """``url`` is a path here; the sender prefixes the server's public URL."""
    return {
        "id": workflow.id,
        "name": workflow.name,
        "status": workflow.status.value,
        "created_at": _iso(workflow.created_at),
        "stopped_at": _iso(workflow.stopped_at),
        "url": f"/pipelines/{workflow.project_slug}/{workflow.pipeline_number}/workflows/{workflow.id}",
    }


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "number": job.number,
        "name": job.name,
        "status": job.status.value,
        "started_at": _iso(job.started_at),
        "stopped_at": _iso(job.stopped_at),
    }
