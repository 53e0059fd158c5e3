"""circlet: a self-hosted CI server that speaks CircleCI's API v2 and runs config 2.1 pipelines."""

from __future__ import annotations

__version__ = "0.1.0"
