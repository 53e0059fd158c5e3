"""``page(request, template, **context)``: render a template with the session context and cookies."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from circlet.web.auth import csrf_token, set_cookies
from circlet.web.state import web_state


def page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    request.state.csrf_token = csrf_token(request)
    response = web_state(request).renderer.render(request, template, context, status_code=status_code)
    set_cookies(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))
