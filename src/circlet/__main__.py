"""``python -m circlet``."""

from __future__ import annotations

from circlet.cli import main

main()
