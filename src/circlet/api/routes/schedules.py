"""Scheduled pipelines: ``/project/{slug}/schedule`` and ``/schedule/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.hook_views import schedule_json
from circlet.engine import schedules
from circlet.engine.schedules import ScheduleChanges

router = APIRouter(tags=["Schedule"])

Scalar = int | bool | str


class ScheduleBody(BaseModel):
    """Create (every field but description required, checked by the engine) and PATCH bodies."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    name: str | None = None
    description: str | None = None
    timetable: dict[str, Any] | None = None
    attribution_actor: str | None = Field(default=None, alias="attribution-actor")
    parameters: dict[str, Scalar] | None = None

    def changes(self) -> ScheduleChanges:
        return ScheduleChanges(
            name=self.name,
            description=self.description,
            timetable=self.timetable,
            attribution_actor=self.attribution_actor,
            parameters=self.parameters,
            description_given="description" in self.model_fields_set,
        )


ScheduleBodyDep = Annotated[ScheduleBody, Body()]


@router.post("/project/{vcs}/{org}/{repo}/schedule", status_code=201)
async def create_schedule(
    vcs: str, org: str, repo: str, body: ScheduleBodyDep, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    schedule = await schedules.create_schedule(tx, user, f"{vcs}/{org}/{repo}", body.changes())
    return schedule_json(schedule)


@router.get("/project/{vcs}/{org}/{repo}/schedule")
async def list_schedules(
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: CurrentUser,
    page_token: Annotated[str | None, Query(alias="page-token")] = None,
) -> dict[str, Any]:
    page = await schedules.project_schedules(tx, user, f"{vcs}/{org}/{repo}", page_token=page_token)
    return {"items": [schedule_json(s) for s in page.items], "next_page_token": page.next_page_token}


@router.get("/schedule/{schedule_id}")
async def get_schedule(schedule_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return schedule_json(await schedules.schedule_for(tx, user, schedule_id))


@router.patch("/schedule/{schedule_id}")
async def update_schedule(
    schedule_id: str, body: ScheduleBodyDep, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    return schedule_json(await schedules.update_schedule(tx, user, schedule_id, body.changes()))


@router.delete("/schedule/{schedule_id}")
async def delete_schedule(schedule_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    await schedules.delete_schedule(tx, user, schedule_id)
    return {"message": "Schedule deleted."}
