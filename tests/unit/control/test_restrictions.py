"""Context restrictions evaluated against a pipeline (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from circlet.engine.contexts import restriction_refusal
from circlet.model.accounts import Project
from circlet.model.pipelines import Pipeline
from circlet.model.settings import Restriction, RestrictionType
from circlet.model.statuses import PipelineState
from circlet.types import OrgId, PipelineId, ProjectId

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROJECT = Project(
    id=ProjectId("p1"),
    org_id=OrgId("o"),
    org_name="acme",
    org_slug="gh/acme",
    slug="gh/acme/app",
    name="app",
    repo_url="/repo",
    default_branch="main",
)


def pipeline(branch: str | None = "main", tag: str | None = None) -> Pipeline:
    return Pipeline(
        id=PipelineId("pl"),
        project_id=PROJECT.id,
        project_slug=PROJECT.slug,
        number=3,
        state=PipelineState.CREATED,
        created_at=NOW,
        updated_at=NOW,
        trigger_type="api",
        trigger_received_at=NOW,
        actor_id=None,
        actor_login="",
        actor_avatar_url=None,
        branch=branch,
        tag=tag,
        revision="abc",
    )


def restriction(kind: RestrictionType, value: str) -> Restriction:
    return Restriction(id="r", context_id="c", type=kind, value=value, name=value)


P = RestrictionType.PROJECT
E = RestrictionType.EXPRESSION


@pytest.mark.parametrize(
    ("restrictions", "where", "allowed"),
    [
        ([], pipeline(), True),
        ([restriction(P, "p1")], pipeline(), True),
        ([restriction(P, "p2")], pipeline(), False),
        ([restriction(P, "p2"), restriction(P, "p1")], pipeline(), True),
        ([restriction(E, 'pipeline.git.branch == "main"')], pipeline(), True),
        ([restriction(E, 'pipeline.git.branch == "main"')], pipeline("dev"), False),
        ([restriction(E, 'pipeline.git.tag starts-with "v"')], pipeline(None, "v1.2"), True),
        ([restriction(E, "pipeline.git.branch matches /^release-.*/")], pipeline("release-2"), True),
        ([restriction(E, 'not (pipeline.git.branch == "main") or pipeline.number > 2')], pipeline(), True),
        ([restriction(E, "job.ssh.enabled")], pipeline(), False),
        ([restriction(P, "p1"), restriction(E, 'pipeline.git.branch == "main"')], pipeline("dev"), False),
        ([restriction(E, 'pipeline.number > "x"')], pipeline(), False),
    ],
)
def test_restriction_refusal(restrictions: list[Restriction], where: Pipeline, allowed: bool) -> None:
    reason = restriction_refusal(restrictions, PROJECT, where)
    assert (reason is None) is allowed, reason
