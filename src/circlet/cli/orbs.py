"""``circlet orb pack``: assemble an orb source folder into one YAML file (the database commands live elsewhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from circlet.compiler import pack_orb
from circlet.errors import ConfigInvalid

orb_app = typer.Typer(help="Work with orbs.", no_args_is_help=True)


@orb_app.callback()
def orbs() -> None:
    """Work with orbs."""


@orb_app.command("pack")
def pack(
    directory: Annotated[Path, typer.Argument(help="The orb source folder (with @orb.yml).")],
) -> None:
    """Print the packed orb YAML: @orb.yml plus commands/, jobs/, executors/, examples/, with <<include(file)>>."""
    try:
        typer.echo(pack_orb(directory), nl=False)
    except ConfigInvalid as exc:
        console = Console(stderr=True)
        for problem in exc.problems:
            console.print(f"[red]error:[/] {problem}", highlight=False)
        raise typer.Exit(1) from None
