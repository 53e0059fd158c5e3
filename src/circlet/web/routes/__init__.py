"""The web UI's pages, one module per thing a person looks at."""

from __future__ import annotations
