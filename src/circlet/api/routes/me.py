"""The caller and the orgs they belong to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.views import collaboration_json, user_json
from circlet.engine import accounts

router = APIRouter(tags=["User"])


@router.get("/me")
async def get_me(user: CurrentUser) -> dict[str, Any]:
    return user_json(user)


@router.get("/me/collaborations")
async def get_collaborations(tx: TxDep, user: CurrentUser) -> list[dict[str, Any]]:
    return [collaboration_json(org) for org in await accounts.orgs_of(tx, user)]


@router.get("/user/{user_id}")
async def get_user(user_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return user_json(await accounts.visible_user(tx, user, user_id))
