"""Domain values: frozen dataclasses and StrEnum statuses whose values are CircleCI's wire strings."""

from __future__ import annotations
