"""Errors on web pages: a redirect to sign in, or an HTML error page with the API's status code."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from circlet.api.errors import status_for
from circlet.errors import CIError
from circlet.web.auth import CsrfRejected, SignInRequired, set_cookies
from circlet.web.pages import page

log = logging.getLogger(__name__)

SERVER_ERROR = 500


def redirect(request: Request, url: str) -> Response:
    """303 to ``url``; htmx requests get ``HX-Redirect`` so the whole page moves."""
    if request.headers.get("hx-request"):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    set_cookies(request, response)
    return response


def error_page(request: Request, exc: CIError) -> Response:
    if isinstance(exc, SignInRequired):
        return redirect(request, f"/login?next={quote(exc.next_url, safe='/')}")
    status = 403 if isinstance(exc, CsrfRejected) else status_for(exc)
    if status >= SERVER_ERROR:
        log.error("page failed: %s", exc, extra={"action": "page_failed", "path": request.url.path})
    return page(request, "error.html", status_code=status, status=status, message=exc.message)


class WebRoute(APIRoute):
    """A route whose circlet errors become HTML pages instead of the API's JSON bodies, and whose
    responses say how long the server took (``Server-Timing: app;dur=<ms>``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except CIError as exc:
                response = error_page(request, exc)
            # the server's own time (auth, reads, rendering), for browsers' dev tools and bench/web_pages.py
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers.append("Server-Timing", f"app;dur={elapsed_ms:.1f}")
            return response

        return handle
