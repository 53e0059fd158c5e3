"""The Jinja2 environment (autoescaped, with the formatting filters) and page responses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from circlet.web import formats, statuses
from circlet.web.ansi import ansi_to_html

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        duration=formats.duration,
        ago=formats.ago,
        timestamp=formats.timestamp,
        short_sha=formats.short_sha,
        percent=formats.percent,
        filesize=formats.filesize,
        badge=statuses.badge_html,
        tone=lambda status: statuses.badge(str(status)).tone,
        ansi=ansi_to_html,
    )
    env.globals.update(
        between=formats.between, is_active=statuses.is_active, status_label=_label, asset=_asset_url
    )
    return env


def _label(status: str) -> str:
    return statuses.badge(str(status)).label


def _asset_url(name: str) -> str:
    """``/static/name?v=<mtime>`` so browsers may cache assets for long."""
    try:
        version = int((STATIC_DIR / name).stat().st_mtime)
    except FileNotFoundError:
        version = 0
    return f"/static/{name}?v={version}"


class Renderer:
    """Renders templates with the request's session context (user, CSRF token) already in place."""

    def __init__(self) -> None:
        self.env = make_environment()

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        base = {
            "request": request,
            "user": getattr(request.state, "web_user", None),
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "now": datetime.now(UTC),
        }
        html = self.env.get_template(name).render({**base, **context})
        return HTMLResponse(html, status_code=status_code)
