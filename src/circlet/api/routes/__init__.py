"""HTTP routes. A route parses input, calls the engine, and shapes the output."""

from __future__ import annotations
