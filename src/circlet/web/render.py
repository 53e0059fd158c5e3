"""The Jinja2 environment (autoescaped, with the formatting filters) and page responses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

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
        between=formats.between,
        is_active=statuses.is_active,
        status_label=_label,
        asset=_asset_url,
        elapsed=_elapsed,
    )
    return env


@pass_context
def _elapsed(context: Context, start: datetime | None, stop: datetime | None, running: bool) -> Markup:
    """A duration; while ``running`` it carries its start (``data-since``, Unix seconds) so that
    ``live.js`` keeps it ticking between updates."""
    now: datetime = context.get("now") or datetime.now(UTC)
    text = formats.duration(formats.between(start, stop, now if running else None))
    if running and start is not None and stop is None:
        return Markup('<span data-since="{}">{}</span>').format(int(start.timestamp()), text)
    return Markup("{}").format(text)


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

    def html(self, request: Request, name: str, context: dict[str, Any]) -> str:
        base = {
            "request": request,
            "user": getattr(request.state, "web_user", None),
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "now": datetime.now(UTC),
        }
        return self.env.get_template(name).render({**base, **context})

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        return HTMLResponse(self.html(request, name, context), status_code=status_code)
