"""``python -m circlet``."""

from __future__ import annotations

from circlet.cli.main import main

main()
