"""Schedules and webhooks -> CircleCI API v2 JSON bodies."""

from __future__ import annotations

from typing import Any

from circlet.api.views import iso, user_json
from circlet.engine.schedules import schedule_actor
from circlet.engine.timetables import timetable_json
from circlet.model.hooks import Schedule, Webhook


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "name": schedule.name,
        "description": schedule.description,
        "project-slug": schedule.project_slug,
        "timetable": timetable_json(schedule.timetable),
        "actor": user_json(schedule_actor(schedule)),
        "parameters": dict(schedule.parameters),
        "created-at": iso(schedule.created_at),
        "updated-at": iso(schedule.updated_at),
    }


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "name": webhook.name,
        "url": webhook.url,
        "verify-tls": webhook.verify_tls,
        "signing-secret": webhook.signing_secret_masked,
        "events": [e.value for e in webhook.events],
        "scope": {"id": webhook.scope_id, "type": webhook.scope_type},
        "created-at": iso(webhook.created_at),
        "updated-at": iso(webhook.updated_at),
    }
