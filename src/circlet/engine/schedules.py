"""Scheduled pipelines: CRUD with tenancy checks, and firing due schedules exactly once.

Firing rule: a pass at ``now`` looks only at each schedule's *latest* due time. It fires it when that
time is after the schedule's last change and no older than ``grace_s``; the unique claim row
(schedule, due time) makes it happen once across every server on the database. Older due times are
never replayed, so a server that was down fires at most the one most recent slot, if it is still fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.pipelines import TriggerRequest, trigger_pipeline
from circlet.engine.timetables import latest_due, parse_timetable, timetable_json
from circlet.errors import BadRequest, CIError, NotFound
from circlet.model.accounts import Project, User
from circlet.model.hooks import AttributionActor, Schedule, Timetable
from circlet.model.pipelines import Pipeline
from circlet.store import accounts as account_store
from circlet.store import projects as project_store
from circlet.store import schedules as schedule_store
from circlet.store._types import utcnow
from circlet.store.pages import Page
from circlet.types import UserId

log = logging.getLogger(__name__)

GRACE_S = 300.0  #: seconds; a due time older than this is skipped, never replayed
FIRING_HISTORY = timedelta(days=30)  #: claims kept this long (only the grace window needs them)
#: The neutral actor of ``attribution-actor: system`` schedules (not a stored user).
SYSTEM_ACTOR = User(id=UserId("5f9d4b1e-0000-4000-8000-5c4ed0000000"), login="system-actor", name="Scheduled")


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduleChanges:
    """A create or update request; a None field is left unchanged (create requires all but description)."""

    name: str | None = None
    description: str | None = None
    timetable: Any = None  #: CircleCI's wire form, validated here
    attribution_actor: str | None = None
    parameters: Mapping[str, Any] | None = None
    description_given: bool = False  #: PATCH may set the description to null


async def create_schedule(
    tx: AsyncSession, user: User, project_slug: str, changes: ScheduleChanges, *, now: datetime | None = None
) -> Schedule:
    """Create a schedule in a project the user can see.

    Raises:
        BadRequest: a field is missing or invalid. Conflict: the name is taken in this project.
    """
    project = await access.project_for(tx, user, project_slug)
    if changes.name is None or changes.timetable is None or changes.parameters is None:
        raise BadRequest("name, timetable, attribution-actor and parameters are required.")
    if changes.attribution_actor is None:
        raise BadRequest("name, timetable, attribution-actor and parameters are required.")
    return await schedule_store.create_schedule(
        tx,
        project_id=project.id,
        name=_name(changes.name),
        description=changes.description,
        timetable=timetable_json(parse_timetable(changes.timetable)),
        attribution_actor=_attribution(changes.attribution_actor),
        actor_id=user.id,
        parameters=_parameters(changes.parameters),
        now=now or utcnow(),
    )


async def update_schedule(
    tx: AsyncSession, user: User, schedule_id: str, changes: ScheduleChanges, *, now: datetime | None = None
) -> Schedule:
    """Change the given fields; the caller becomes the schedule's actor (as on CircleCI)."""
    current = await schedule_for(tx, user, schedule_id)
    values: dict[str, Any] = {"actor_id": user.id}
    if changes.name is not None:
        values["name"] = _name(changes.name)
    if changes.description_given:
        values["description"] = changes.description
    if changes.timetable is not None:
        values["timetable"] = timetable_json(parse_timetable(_merged(current, changes.timetable)))
    if changes.attribution_actor is not None:
        values["attribution_actor"] = _attribution(changes.attribution_actor)
    if changes.parameters is not None:
        values["parameters"] = _parameters(changes.parameters)
    return await schedule_store.update_schedule(tx, schedule_id, now=now or utcnow(), **values)


async def delete_schedule(tx: AsyncSession, user: User, schedule_id: str) -> None:
    await schedule_for(tx, user, schedule_id)
    await schedule_store.delete_schedule(tx, schedule_id)


async def schedule_for(tx: AsyncSession, user: User, schedule_id: str) -> Schedule:
    """The schedule, if the user belongs to its project's org (NotFound otherwise)."""
    schedule = await schedule_store.get_schedule(tx, schedule_id)
    project = await project_store.get_project(tx, schedule.project_id)
    if project.org_id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Schedule not found.")
    return schedule


async def project_schedules(
    tx: AsyncSession, user: User, project_slug: str, *, page_token: str | None
) -> Page[Schedule]:
    project = await access.project_for(tx, user, project_slug)
    return await schedule_store.list_schedules(tx, project.id, page_token=page_token)


def schedule_actor(schedule: Schedule) -> User:
    """Who the schedule's pipelines run as: its last editor, or the system actor."""
    if schedule.attribution_actor is AttributionActor.CURRENT and schedule.actor_id and schedule.actor_login:
        return User(id=schedule.actor_id, login=schedule.actor_login, name=schedule.actor_name or "")
    return SYSTEM_ACTOR


def _merged(schedule: Schedule, given: Any) -> Any:
    """A PATCH's timetable over the current one: keys given replace, the others stay (choosing
    days-of-week drops days-of-month and the other way round)."""
    if not isinstance(given, Mapping):
        return given
    merged = timetable_json(schedule.timetable)
    for days, other in (("days-of-week", "days-of-month"), ("days-of-month", "days-of-week")):
        if days in given:
            merged.pop(other, None)
    return {**merged, **given}


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise BadRequest("name must not be empty.")
    return name


def _attribution(value: str) -> AttributionActor:
    try:
        return AttributionActor(value)
    except ValueError as exc:
        raise BadRequest("attribution-actor must be current or system.") from exc


def _parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(parameters, Mapping):
        raise BadRequest("parameters must be an object.")
    bad = sorted(k for k, v in parameters.items() if not isinstance(v, str | int | bool))
    if bad:
        raise BadRequest(f"parameters must be strings, integers or booleans: {', '.join(bad)}.")
    if bool(parameters.get("branch")) == bool(parameters.get("tag")):
        raise BadRequest("parameters must contain a branch or a tag (not both).")
    return dict(parameters)


def trigger_request(schedule: Schedule) -> TriggerRequest:
    """The pipeline a firing of ``schedule`` asks for."""
    params = dict(schedule.parameters)
    branch, tag = params.pop("branch", None), params.pop("tag", None)
    return TriggerRequest(
        branch=str(branch) if branch else None,
        tag=str(tag) if tag else None,
        parameters=params,
        trigger_type="scheduled_pipeline",
        trigger_source="scheduled_pipeline",
        schedule_name=schedule.name,
        schedule_id=schedule.id,
    )


def due_to_fire(
    timetable: Timetable, updated_at: datetime, now: datetime, *, grace_s: float = GRACE_S
) -> datetime | None:
    """The due time a pass at ``now`` should fire for a schedule last changed at ``updated_at``, or None."""
    due = latest_due(timetable, now, not_before=now - timedelta(seconds=grace_s))
    if due is None or due <= updated_at:
        return None
    return due


async def fire_schedule(
    tx: AsyncSession, schedule_id: str, *, now: datetime, mirrors_dir: Path, grace_s: float = GRACE_S
) -> Pipeline | None:
    """Fire ``schedule_id`` if it is due at ``now`` and nobody fired that due time yet.

    A trigger failure (unknown branch, unreadable repository) is recorded on the claim and not
    retried: the next due time tries again.
    """
    try:
        schedule = await schedule_store.get_schedule(tx, schedule_id)
    except NotFound:
        return None
    due = due_to_fire(schedule.timetable, schedule.updated_at, now, grace_s=grace_s)
    if due is None:
        return None
    firing_id = await schedule_store.claim_firing(tx, schedule.id, due, now=now)
    if firing_id is None:
        return None
    try:
        async with tx.begin_nested():
            project = await project_store.get_project(tx, schedule.project_id)
            actor = await _firing_actor(tx, schedule, project)
            pipeline = await trigger_pipeline(
                tx, project, actor, trigger_request(schedule), mirrors_dir=mirrors_dir
            )
    except CIError as exc:
        await schedule_store.record_firing(tx, firing_id, error=exc.message)
        log.warning(
            "schedule %s could not fire: %s",
            schedule.id,
            exc.message,
            extra={"action": "schedule_failed", "schedule_id": schedule.id},
        )
        return None
    await schedule_store.record_firing(tx, firing_id, pipeline_id=pipeline.id)
    log.info(
        "schedule %s fired pipeline %s",
        schedule.id,
        pipeline.id,
        extra={"action": "schedule_fired", "schedule_id": schedule.id, "pipeline_id": pipeline.id},
    )
    return pipeline


async def _firing_actor(tx: AsyncSession, schedule: Schedule, project: Project) -> User | None:
    """The stored user the pipeline is attributed to; None for the system actor.

    Raises:
        BadRequest: the schedule runs as a user who no longer belongs to the project's org.
    """
    actor = schedule_actor(schedule)
    if actor is SYSTEM_ACTOR:
        return None
    if project.org_id not in await account_store.user_org_ids(tx, actor.id):
        raise BadRequest(f"{actor.login} is no longer a member of {project.org_slug}.")
    return actor


async def prune_firings(tx: AsyncSession, *, now: datetime) -> int:
    """Forget claims older than ``FIRING_HISTORY``."""
    return await schedule_store.prune_firings(tx, now - FIRING_HISTORY)


async def due_schedules(
    tx: AsyncSession, now: datetime, *, grace_s: float = GRACE_S
) -> list[tuple[str, datetime]]:
    """``(schedule id, due time)`` of every schedule a pass at ``now`` should fire."""
    due = []
    for schedule_id, timetable, updated_at in await schedule_store.timetables(tx):
        when = due_to_fire(timetable, updated_at, now, grace_s=grace_s)
        if when is not None:
            due.append((schedule_id, when))
    return due
