"""Contexts (v2): the contexts of an org, their variables (never shown) and their restrictions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.views import iso
from circlet.engine import contexts
from circlet.engine.contexts import ContextVar
from circlet.errors import BadRequest
from circlet.model.settings import Context, Restriction, RestrictionType

router = APIRouter(tags=["Context"])

PageToken = Annotated[str | None, Query(alias="page-token")]


class ContextOwner(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = None
    slug: str | None = None
    type: str | None = None


class CreateContextBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    owner: ContextOwner


class ContextVarBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: str


class RestrictionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    project_id: str | None = None  #: deprecated form of a project restriction
    restriction_type: str | None = None
    restriction_value: str | None = None


def context_json(context: Context) -> dict[str, Any]:
    return {"id": context.id, "name": context.name, "created_at": iso(context.created_at)}


def variable_json(var: ContextVar) -> dict[str, Any]:
    return {
        "variable": var.variable,
        "context_id": var.context_id,
        "created_at": iso(var.created_at),
        "updated_at": iso(var.updated_at),
    }


def restriction_json(restriction: Restriction) -> dict[str, Any]:
    body = {
        "id": restriction.id,
        "context_id": restriction.context_id,
        "name": restriction.name,
        "restriction_type": restriction.type.value,
        "restriction_value": restriction.value,
    }
    if restriction.type is RestrictionType.PROJECT:
        body["project_id"] = restriction.value
    return body


@router.get("/context")
async def list_contexts(
    tx: TxDep,
    user: CurrentUser,
    owner_id: Annotated[str | None, Query(alias="owner-id")] = None,
    owner_slug: Annotated[str | None, Query(alias="owner-slug")] = None,
    owner_type: Annotated[str | None, Query(alias="owner-type")] = None,
    page_token: PageToken = None,
) -> dict[str, Any]:
    org = await contexts.owner_org(tx, user, owner_id=owner_id, owner_slug=owner_slug, owner_type=owner_type)
    page = await contexts.list_contexts(tx, org, page_token=page_token)
    return {"items": [context_json(c) for c in page.items], "next_page_token": page.next_page_token}


@router.post("/context")
async def create_context(body: CreateContextBody, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    owner = body.owner
    org = await contexts.owner_org(tx, user, owner_id=owner.id, owner_slug=owner.slug, owner_type=owner.type)
    return context_json(await contexts.create_context(tx, user, body.name, org))


@router.get("/context/{context_id}")
async def get_context(context_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return context_json(await contexts.context_for(tx, user, context_id))


@router.delete("/context/{context_id}")
async def delete_context(context_id: str, tx: TxDep, user: CurrentUser) -> dict[str, str]:
    await contexts.delete_context(tx, user, context_id)
    return {"message": "Context deleted."}


@router.get("/context/{context_id}/environment-variable")
async def list_variables(
    context_id: str, tx: TxDep, user: CurrentUser, page_token: PageToken = None
) -> dict[str, Any]:
    items, token = await contexts.list_variables(tx, user, context_id, page_token=page_token)
    return {"items": [variable_json(v) for v in items], "next_page_token": token}


@router.put("/context/{context_id}/environment-variable/{name}")
async def put_variable(
    context_id: str, name: str, body: ContextVarBody, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    return variable_json(await contexts.put_variable(tx, user, context_id, name, body.value))


@router.delete("/context/{context_id}/environment-variable/{name}")
async def delete_variable(context_id: str, name: str, tx: TxDep, user: CurrentUser) -> dict[str, str]:
    await contexts.delete_variable(tx, user, context_id, name)
    return {"message": "Environment variable deleted."}


@router.get("/context/{context_id}/restrictions")
async def list_restrictions(context_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    items = await contexts.list_restrictions(tx, user, context_id)
    return {"items": [restriction_json(r) for r in items], "next_page_token": None}


@router.post("/context/{context_id}/restrictions", status_code=201)
async def add_restriction(
    context_id: str, tx: TxDep, user: CurrentUser, body: Annotated[RestrictionBody, Body()]
) -> dict[str, Any]:
    if body.project_id and (body.restriction_type or body.restriction_value):
        raise BadRequest("project_id cannot be combined with restriction_type and restriction_value.")
    kind, value = (
        ("project", body.project_id) if body.project_id else (body.restriction_type, body.restriction_value)
    )
    if not kind or not value:
        raise BadRequest("restriction_type and restriction_value are required.")
    restriction = await contexts.add_restriction(
        tx, user, context_id, restriction_type=kind, restriction_value=value
    )
    body_json = restriction_json(restriction)
    del body_json["context_id"]  # the create answer has no context_id (additionalProperties: false)
    return body_json


@router.delete("/context/{context_id}/restrictions/{restriction_id}")
async def delete_restriction(
    context_id: str, restriction_id: str, tx: TxDep, user: CurrentUser
) -> dict[str, str]:
    await contexts.delete_restriction(tx, user, context_id, restriction_id)
    return {"message": "Context restriction deleted."}
