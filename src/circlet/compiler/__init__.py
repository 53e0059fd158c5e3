"""circlet.compiler."""

from __future__ import annotations
