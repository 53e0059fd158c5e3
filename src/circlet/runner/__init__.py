"""circlet.runner."""

from __future__ import annotations
