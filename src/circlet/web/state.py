"""What the web routes share, built once by ``mount_web`` and kept on ``app.state.web``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from circlet.web.render import Renderer
from circlet.web.sessions import SessionCodec


@dataclass(frozen=True, slots=True)
class WebState:
    codec: SessionCodec
    renderer: Renderer
    mirrors_dir: Path  #: where the project repositories are mirrored (for the trigger form)
    secure_cookies: bool  #: set the Secure flag (the public URL is https)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
