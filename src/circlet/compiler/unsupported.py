"""Config features CircleCI has and circlet does not run, and the rules of setup configs: each is a
problem with a plain sentence rather than something silently ignored."""

from __future__ import annotations

from typing import Any

from circlet.compiler.loader import Document
from circlet.errors import Problem
from circlet.model.configs import WorkflowPlan

JOB_GROUPS = "job-groups are not supported by circlet yet; list the group's jobs in the workflow instead"
SETUP_TRIGGERS = "a setup config cannot have scheduled workflows (triggers)"
SETUP_VERSION = "a setup config must be version 2.1"


def check_features(data: dict[str, Any], doc: Document, problems: list[Problem]) -> None:
    """Report the features circlet does not support."""
    if data.get("job-groups"):
        problems.append(doc.problem(JOB_GROUPS, ("job-groups",)))


def check_setup(
    data: dict[str, Any], plans: list[WorkflowPlan], doc: Document, problems: list[Problem], version: str
) -> None:
    """A setup config is version 2.1, runs at most one workflow (one with a job this trigger runs),
    and none of its workflows is scheduled."""
    if version != "2.1":
        problems.append(doc.problem(SETUP_VERSION, ("setup",)))
    workflows = data.get("workflows")
    for name, body in workflows.items() if isinstance(workflows, dict) else ():
        if isinstance(body, dict) and body.get("triggers") is not None:
            problems.append(doc.problem(SETUP_TRIGGERS, ("workflows", name, "triggers")))
    running = [plan.name for plan in plans if plan.runs and any(job.runs for job in plan.jobs)]
    if len(running) > 1:
        problems.append(
            doc.problem(
                f"a setup config may run only one workflow; this trigger runs {len(running)}: "
                + ", ".join(running),
                ("workflows",),
            )
        )
