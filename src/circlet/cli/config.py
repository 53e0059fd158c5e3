"""``circlet config validate|process|plan``: the compiler from the command line, no server needed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from circlet.compiler import DictOrbSource, compile_config
from circlet.compiler.loader import load_document
from circlet.errors import ConfigInvalid
from circlet.model.configs import CompiledConfig

config_app = typer.Typer(help="Validate, process and plan .circleci/config.yml files.", no_args_is_help=True)

DEFAULT_FILE = Path(".circleci/config.yml")
FileArg = Annotated[Path, typer.Argument(help="The config file (default .circleci/config.yml); - for stdin.")]
OrbDir = Annotated[
    Path | None, typer.Option("--orb-dir", help="A folder of orbs as ns/name@version.yml files.")
]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="A pipeline parameter, name=value (repeatable).")
]


def orb_source_from_directory(directory: Path | None) -> DictOrbSource:
    """Orbs stored as ``<dir>/<namespace>/<name>@<version>.yml``."""
    source = DictOrbSource()
    if directory is None:
        return source
    for path in sorted(directory.glob("*/*@*.yml")):
        source.add(f"{path.parent.name}/{path.stem}", path.read_text(encoding="utf-8"))
    return source


def _read(file: Path) -> tuple[str, str]:
    if str(file) == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}") from None


def _parameters(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected name=value, got {pair!r}", param_hint="--param")
        value = load_document(raw or '""').data if raw.strip() else ""
        out[name] = value if isinstance(value, str | int | bool) and not isinstance(value, float) else raw
    return out


def _values(branch: str | None, tag: str | None) -> dict[str, Any]:
    return {
        "pipeline.id": "00000000-0000-0000-0000-000000000000",
        "pipeline.number": 1,
        "pipeline.git.branch": branch or "",
        "pipeline.git.tag": tag or "",
        "pipeline.trigger_source": "api",
        "pipeline.project.type": "github",
    }


def _compile(
    file: Path,
    *,
    branch: str | None = None,
    tag: str | None = None,
    params: list[str] | None = None,
    orb_dir: Path | None = None,
) -> CompiledConfig:
    source, name = _read(file)
    console = Console(stderr=True)
    try:
        return compile_config(
            source,
            values=_values(branch, tag),
            parameters=_parameters(params),
            orbs=orb_source_from_directory(orb_dir),
            file=name,
        )
    except ConfigInvalid as exc:
        console.print(f"[bold red]{name} is invalid[/] ({len(exc.problems)} problem(s)):", highlight=False)
        for problem in exc.problems:
            console.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None


def _print_warnings(config: CompiledConfig) -> None:
    console = Console(stderr=True)
    for warning in config.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)


@config_app.command("validate")
def validate(file: FileArg = DEFAULT_FILE, orb_dir: OrbDir = None, params: ParamOpt = None) -> None:
    """Check a config; exit 1 and list every problem when it is invalid."""
    config = _compile(file, branch="main", params=params, orb_dir=orb_dir)
    _print_warnings(config)
    typer.echo(f"Config file at {file} is valid.")


@config_app.command("process")
def process(file: FileArg = DEFAULT_FILE, orb_dir: OrbDir = None, params: ParamOpt = None) -> None:
    """Print the expanded 2.0-shaped config, like ``circleci config process``."""
    config = _compile(file, branch="main", params=params, orb_dir=orb_dir)
    typer.echo(config.processed_yaml, nl=False)


def plan_as_dict(config: CompiledConfig) -> dict[str, Any]:
    """The plan as JSON-ready data."""
    return {
        "setup": config.setup,
        "parameters": dict(config.parameters),
        "workflows": [
            {
                "name": flow.name,
                "runs": flow.runs,
                "skip_reason": flow.skip_reason,
                "jobs": [
                    {
                        "name": job.name,
                        "job": job.job,
                        "type": str(job.type),
                        "requires": list(job.requires),
                        "contexts": list(job.contexts),
                        "runs": job.runs and flow.runs,
                        "skip_reason": job.skip_reason,
                    }
                    for job in flow.jobs
                ],
            }
            for flow in config.workflows
        ],
    }


def _render_plan(config: CompiledConfig, trigger: str) -> None:
    console = Console()
    tree = Tree(f"[bold]{trigger}[/]")
    for flow in config.workflows:
        if not flow.runs:
            tree.add(f"[dim]workflow {flow.name}[/] [red]skipped[/]: {flow.skip_reason}")
            continue
        table = Table(show_edge=False, pad_edge=False)
        for column in ("job", "runs", "requires", "why not"):
            table.add_column(column)
        for job in flow.jobs:
            runs = "[green]yes[/]" if job.runs else "[red]no[/]"
            label = job.name + (" (approval)" if job.job == "" and job.type == "approval" else "")
            table.add_row(label, runs, ", ".join(job.requires), job.skip_reason or "")
        branch = tree.add(f"[bold]workflow {flow.name}[/] [green]runs[/]")
        branch.add(table)
    console.print(tree)


@config_app.command("plan")
def plan(
    file: FileArg = DEFAULT_FILE,
    branch: Annotated[str | None, typer.Option(help="Plan a push to this branch.")] = None,
    tag: Annotated[str | None, typer.Option(help="Plan a push of this tag.")] = None,
    params: ParamOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    orb_dir: OrbDir = None,
) -> None:
    """Show which workflows and jobs would run for a branch or tag, and why the others would not."""
    if (branch is None) == (tag is None):
        raise typer.BadParameter("give exactly one of --branch or --tag")
    config = _compile(file, branch=branch, tag=tag, params=params, orb_dir=orb_dir)
    if as_json:
        typer.echo(json.dumps(plan_as_dict(config), indent=2, default=str))
        return
    _print_warnings(config)
    _render_plan(config, f"branch {branch}" if branch is not None else f"tag {tag}")
