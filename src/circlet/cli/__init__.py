"""Command line: the top layer; nothing imports it."""

from __future__ import annotations

import sys


def main() -> None:
    """The ``circlet`` entry point: ``circlet runner`` starts without importing the server or typer."""
    if sys.argv[1:2] == ["runner"]:
        from circlet.cli.runner import main as runner_main

        runner_main()
    else:
        from circlet.cli.main import main as cli_main

        cli_main()
