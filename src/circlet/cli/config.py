"""``circlet config validate|process|plan``: the compiler from the command line, no server needed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from circlet.compiler import DictOrbSource, compile_config, plan_as_dict
from circlet.compiler.loader import load_document
from circlet.errors import ConfigInvalid
from circlet.model.configs import CompiledConfig, WorkflowJob, WorkflowPlan
from circlet.model.statuses import JobType

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
        console.print(
            Text.assemble((f"{name} is invalid", "bold red"), f" ({len(exc.problems)} problem(s)):"),
            highlight=False,
            soft_wrap=True,
        )
        for problem in exc.problems:
            console.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _print_warnings(config: CompiledConfig) -> None:
    console = Console(stderr=True)
    for warning in config.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), str(warning)), highlight=False, soft_wrap=True)


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


def _job_label(job: WorkflowJob) -> Text:
    label = Text(job.name)
    if job.type is not JobType.BUILD:
        label.append(f" ({job.type.value})", style="dim")
    if job.job and job.job != job.name:
        label.append(f" = {job.job}", style="dim")
    return label


def _jobs_table(flow: WorkflowPlan) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("job", no_wrap=True)
    table.add_column("runs", justify="center")
    table.add_column("requires")
    table.add_column("why not", style="yellow")
    for job in flow.jobs:
        runs = Text("yes", style="green") if job.runs else Text("no", style="red")
        table.add_row(_job_label(job), runs, Text(", ".join(job.requires)), Text(job.skip_reason or ""))
    return table


def _workflow_heading(flow: WorkflowPlan) -> Text:
    heading = Text.assemble(("workflow ", "bold"), (flow.name, "bold"), " ")
    if not flow.runs:
        return heading.append_text(Text.assemble(("skipped", "red"), f": {flow.skip_reason}"))
    running = sum(job.runs for job in flow.jobs)
    if running == 0:
        return heading.append(f"runs no job (all {len(flow.jobs)} filtered out)", style="yellow")
    return heading.append(f"runs {running} of {len(flow.jobs)} jobs", style="green")


def _render_plan(config: CompiledConfig, trigger: str) -> None:
    console = Console()
    title = Text.assemble(("plan for ", "bold"), (trigger, "bold cyan"))
    if config.setup:
        title.append("  (setup config: its workflow continues the pipeline)", style="dim")
    tree = Tree(title)
    for flow in config.workflows:
        branch = tree.add(_workflow_heading(flow))
        if flow.runs and flow.jobs:
            branch.add(_jobs_table(flow))
    console.print(tree)
    runs = [flow for flow in config.workflows if flow.runs and any(job.runs for job in flow.jobs)]
    jobs = sum(job.runs for flow in runs for job in flow.jobs)
    console.print(
        f"{len(runs)} of {len(config.workflows)} workflows and {jobs} jobs would run.",
        style="bold",
        highlight=False,
    )


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
