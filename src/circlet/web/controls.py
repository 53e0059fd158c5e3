"""Whether the engine's control use cases (cancel, rerun, approve) are present in this build."""

from __future__ import annotations

import importlib.util


def available() -> bool:
    return importlib.util.find_spec("circlet.engine.control") is not None
