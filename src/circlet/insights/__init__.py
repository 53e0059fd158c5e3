"""circlet.insights."""

from __future__ import annotations
