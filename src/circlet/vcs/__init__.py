"""circlet.vcs."""

from __future__ import annotations
