"""The projects page: the user's orgs, their projects and each one's latest pipeline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import ui
from circlet.web.auth import WebUser
from circlet.web.errors import WebRoute
from circlet.web.pages import page

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
async def projects(request: Request, tx: TxDep, user: WebUser) -> Response:
    orgs = await ui.project_cards(tx, user)
    return page(request, "projects.html", orgs=orgs, title="Projects")
