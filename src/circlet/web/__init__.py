"""circlet.web."""

from __future__ import annotations
