"""The web UI: server-rendered pages (Jinja2 + htmx) over the engine's reads and use cases."""

from __future__ import annotations

from circlet.web.mount import mount_web

__all__ = ["mount_web"]
