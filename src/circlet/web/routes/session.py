"""Sign in with a personal API token, and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from circlet.api.deps import TxDep
from circlet.engine import ui
from circlet.web.auth import CsrfChecked, end_session, start_session
from circlet.web.errors import WebRoute, redirect
from circlet.web.pages import page

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``//evil.example`` or ``https://...`` fall back to the projects page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", next=safe_next(next), error=None)


@router.post("/login", dependencies=[CsrfChecked])
async def login(
    request: Request,
    tx: TxDep,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = await ui.user_for_token(tx, token.strip()) if token.strip() else None
    if user is None:
        return page(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            error="That token was not accepted. Create one with “circlet token create”.",
        )
    response = redirect(request, safe_next(next))
    start_session(request, response, token.strip())
    return response


@router.post("/logout", dependencies=[CsrfChecked])
async def logout(request: Request) -> Response:
    response = redirect(request, "/login")
    end_session(response)
    return response
