"""Config features CircleCI has and circlet does not run, and the rules of setup configs: each is a
problem (or, where ignoring it is harmless, a warning) with a plain sentence, never silently ignored."""

from __future__ import annotations

from typing import Any

from circlet.compiler.loader import Document
from circlet.errors import Problem
from circlet.model.configs import WorkflowPlan

JOB_GROUPS = "job-groups are not supported by circlet yet; list the group's jobs in the workflow instead"
WORKFLOW_RERUNS = (
    "workflow max_auto_reruns is ignored: circlet does not rerun failed workflows by itself yet "
    "(max_auto_reruns on run steps works)"
)
SETUP_TRIGGERS = "a setup config cannot have scheduled workflows (triggers)"


def check_features(
    data: dict[str, Any], doc: Document, problems: list[Problem], warnings: list[Problem]
) -> None:
    """Report the features circlet does not support: problems, or warnings where running the config
    without the feature does what it says otherwise (a failed workflow that is not rerun by itself)."""
    if data.get("job-groups"):
        problems.append(doc.problem(JOB_GROUPS, ("job-groups",)))
    workflows = data.get("workflows")
    for name, body in workflows.items() if isinstance(workflows, dict) else ():
        if isinstance(body, dict) and "max_auto_reruns" in body:
            warnings.append(doc.problem(WORKFLOW_RERUNS, ("workflows", name, "max_auto_reruns")))


def check_setup(
    data: dict[str, Any], plans: list[WorkflowPlan], doc: Document, problems: list[Problem]
) -> None:
    """A setup config runs at most one workflow (one with a job this trigger runs), and none of its
    workflows is scheduled."""
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
