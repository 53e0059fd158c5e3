"""What ``circlet local`` shows: a live tree of workflows, jobs and steps (status, duration, the tail
of the running step's output) on a terminal, status lines otherwise, and a summary at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

TAIL_LINES = 6
MINUTE_S = 60
STYLES = {
    "success": "green",
    "running": "yellow",
    "failing": "yellow",
    "failed": "red",
    "error": "red",
    "timedout": "red",
    "infrastructure_fail": "red",
    "canceled": "magenta",
    "on_hold": "cyan",
    "blocked": "dim",
    "queued": "dim",
    "not_run": "dim",
}
ICONS = {"success": "✓", "running": "●", "failing": "●", "failed": "✗", "error": "✗", "timedout": "✗"}


@dataclass
class JobState:
    name: str
    number: int | None
    status: str
    started_at: str | None
    stopped_at: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)  #: v1.1 actions of node 0, with names
    tail: str = ""  #: the last lines of the running (or failed) step's output


@dataclass
class WorkflowState:
    id: str
    name: str
    status: str
    created_at: str | None
    stopped_at: str | None
    jobs: list[JobState] = field(default_factory=list)


def duration(start: str | None, stop: str | None) -> str:
    if not start:
        return ""
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    end = datetime.fromisoformat(stop.replace("Z", "+00:00")) if stop else datetime.now(UTC)
    seconds = max(0.0, (end - begin).total_seconds())
    return (
        f"{seconds:.1f}s"
        if seconds < MINUTE_S
        else f"{int(seconds // MINUTE_S)}m{int(seconds % MINUTE_S):02d}s"
    )


def _label(status: str, name: str, took: str) -> Text:
    style = STYLES.get(status, "")
    text = Text(f"{ICONS.get(status, '·')} ", style=style)
    text.append(name, style="bold")
    text.append(f"  {status}", style=style)
    if took:
        text.append(f"  {took}", style="dim")
    return text


def render(workflows: list[WorkflowState]) -> RenderableType:
    """The live tree: workflows, their jobs, and the steps and output tail of running jobs."""
    if not workflows:
        return Text("waiting for the pipeline's workflows…", style="dim")
    trees = []
    for workflow in workflows:
        tree = Tree(
            _label(workflow.status, workflow.name, duration(workflow.created_at, workflow.stopped_at))
        )
        for job in workflow.jobs:
            branch = tree.add(_label(job.status, job.name, duration(job.started_at, job.stopped_at)))
            if job.status != "running":
                continue
            for step in job.steps:
                branch.add(
                    _label(step["status"], step["name"], duration(step["start_time"], step["end_time"]))
                )
            if job.tail:
                branch.add(Text(job.tail, style="dim", overflow="ellipsis", no_wrap=True))
        trees.append(tree)
    return Group(*trees)


def summary(workflows: list[WorkflowState], console: Console) -> None:
    table = Table(title="circlet local", show_lines=False)
    for column in ("workflow", "job", "status", "duration"):
        table.add_column(column)
    for workflow in workflows:
        style = STYLES.get(workflow.status, "")
        table.add_row(
            workflow.name,
            "",
            Text(workflow.status, style=style),
            duration(workflow.created_at, workflow.stopped_at),
        )
        for job in workflow.jobs:
            took = duration(job.started_at, job.stopped_at)
            table.add_row("", job.name, Text(job.status, style=STYLES.get(job.status, "")), took)
    console.print(table)
    for workflow in workflows:
        for job in workflow.jobs:
            if job.status in ("failed", "timedout", "infrastructure_fail") and job.tail:
                console.print(
                    Text(f"--- {workflow.name} / {job.name}: end of the failed step's output", style="red")
                )
                console.print(Text(job.tail))


def tail_of(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])
