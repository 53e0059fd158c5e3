"""Command line: the top layer; nothing imports it."""

from __future__ import annotations
