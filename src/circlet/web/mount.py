"""``mount_web(app, ...)``: the web UI's routes at ``/`` and its static files under ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from circlet.web.render import STATIC_DIR, Renderer
from circlet.web.routes import (
    actions,
    config,
    insights,
    jobs,
    pipelines,
    projects,
    session,
    trigger,
    workflows,
)
from circlet.web.sessions import SessionCodec, session_key
from circlet.web.state import WebState

STATIC_MAX_AGE_S = 365 * 24 * 3600  # asset URLs carry a version, so browsers may keep them


class _Assets(StaticFiles):
    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        if response.status_code == 200:  # noqa: PLR2004
            response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_S}, immutable"
        return response


def mount_web(app: FastAPI, *, data_dir: Path, secret_key: str = "", public_url: str = "") -> None:
    """Serve the web UI from ``app`` (sessions are sealed with a key kept in ``data_dir``)."""
    app.state.web = WebState(
        codec=SessionCodec(session_key(data_dir, secret_key)),
        renderer=Renderer(),
        mirrors_dir=data_dir / "mirrors",
        secure_cookies=public_url.startswith("https://"),
    )
    for module in (session, projects, trigger, pipelines, config, workflows, jobs, actions, insights):
        app.include_router(module.router)
    app.mount("/static", _Assets(directory=STATIC_DIR), name="static")
