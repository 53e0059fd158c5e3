"""Schedules, outbound webhooks and their deliveries, as stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from circlet.types import ProjectId, UserId

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  #: index = datetime.weekday()
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True, kw_only=True, slots=True)
class Timetable:
    """When a schedule fires (UTC). Exactly one of ``days_of_week`` and ``days_of_month`` is non-empty."""

    per_hour: int  #: 1..60 firings per hour, evenly spaced from minute 0
    hours_of_day: tuple[int, ...]  #: 0..23
    days_of_week: tuple[str, ...] = ()  #: MON..SUN
    days_of_month: tuple[int, ...] = ()  #: 1..31
    months: tuple[str, ...] = ()  #: JAN..DEC; empty means every month


class AttributionActor(StrEnum):
    CURRENT = "current"  #: pipelines run as the user who last saved the schedule
    SYSTEM = "system"  #: pipelines run as the neutral scheduling actor


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    id: str
    project_id: ProjectId
    project_slug: str
    name: str
    description: str | None
    timetable: Timetable
    attribution_actor: AttributionActor
    actor_id: UserId | None  #: the user who last saved it (used when attribution is ``current``)
    actor_login: str | None = None
    actor_name: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)  #: includes ``branch`` or ``tag``
    created_at: datetime
    updated_at: datetime


class WebhookEvent(StrEnum):
    WORKFLOW_COMPLETED = "workflow-completed"
    JOB_COMPLETED = "job-completed"


@dataclass(frozen=True, kw_only=True, slots=True)
class Webhook:
    id: str
    scope_type: str  #: only ``project``
    scope_id: ProjectId
    name: str
    url: str
    verify_tls: bool
    signing_secret_sealed: str  #: encrypted; opened only to sign a delivery
    signing_secret_masked: str  #: what answers show
    events: tuple[WebhookEvent, ...]
    created_at: datetime
    updated_at: datetime


class DeliveryStatus(StrEnum):
    PENDING = "pending"  #: waiting for its next attempt
    DELIVERED = "delivered"  #: the receiver answered 2xx
    FAILED = "failed"  #: gave up after the last attempt


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    """One event for one webhook: a row of the outbox. ``id`` is the event id receivers dedupe on."""

    id: str
    webhook_id: str
    event_type: WebhookEvent
    payload: Mapping[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
