"""Pure parts of workflow control and secrets: what a rerun runs again, workflow status with an
approval pending, sealing and masking, and the server's key file."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from circlet.engine.control import plan_rerun
from circlet.engine.secrets import BOX, SecretBox, SecretsUnavailable, box_for, load_key, mask
from circlet.engine.transitions import workflow_status
from circlet.errors import BadRequest
from circlet.model.pipelines import Job
from circlet.model.statuses import JobStatus, JobType, WorkflowStatus
from circlet.store.db import Store
from circlet.types import JobId, PipelineId, ProjectId, WorkflowId

J = JobStatus
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def job(name: str, status: JobStatus, number: int, requires: tuple[str, ...] = ()) -> Job:
    return Job(
        id=JobId(f"id-{name}"),
        workflow_id=WorkflowId("w"),
        pipeline_id=PipelineId("p"),
        project_id=ProjectId("pr"),
        project_slug="gh/acme/app",
        number=number,
        name=name,
        type=JobType.BUILD,
        status=status,
        requires=requires,
        requires_statuses={},
        contexts=(),
        definition={},
        resource_class="medium",
        parallelism=1,
        created_at=NOW,
        queued_at=None,
        started_at=None,
        stopped_at=None,
    )


#: build -> test -> deploy, build -> lint; test failed, so deploy did not run.
JOBS = [
    job("build", J.SUCCESS, 1),
    job("lint", J.SUCCESS, 2, ("build",)),
    job("test", J.FAILED, 3, ("build",)),
    job("deploy", J.NOT_RUN, 4, ("test",)),
]


@pytest.mark.parametrize(
    ("options", "included", "reruns"),
    [
        ({}, ["build", "lint", "test", "deploy"], {"build", "lint", "test", "deploy"}),
        ({"from_failed": True}, ["build", "lint", "test", "deploy"], {"test", "deploy"}),
        (
            {"selected": ["id-build"]},
            ["build", "lint", "test", "deploy"],
            {"build", "lint", "test", "deploy"},
        ),
        ({"selected": ["id-lint"]}, ["build", "lint", "test", "deploy"], {"lint"}),
        ({"selected": ["id-test"], "sparse_tree": True}, ["test"], {"test"}),
        (
            {"selected": ["id-deploy", "id-build"], "sparse_tree": True},
            ["build", "deploy"],
            {"build", "deploy"},
        ),
    ],
)
def test_plan_rerun(options: dict, included: list[str], reruns: set[str]) -> None:  # type: ignore[type-arg]
    plan = plan_rerun(
        JOBS,
        from_failed=options.get("from_failed", False),
        selected=options.get("selected"),
        sparse_tree=options.get("sparse_tree", False),
    )
    assert list(plan.included) == included and set(plan.reruns) == reruns


@pytest.mark.parametrize(
    "options",
    [
        {"from_failed": True, "selected": ["id-test"]},
        {"sparse_tree": True},
        {"selected": ["id-nope"]},
    ],
)
def test_plan_rerun_refuses(options: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(BadRequest):
        plan_rerun(
            JOBS,
            from_failed=options.get("from_failed", False),
            selected=options.get("selected"),
            sparse_tree=options.get("sparse_tree", False),
        )


def test_from_failed_needs_a_failure() -> None:
    with pytest.raises(BadRequest, match="no failed jobs"):
        plan_rerun([job("build", J.SUCCESS, 1)], from_failed=True, selected=None, sparse_tree=False)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([J.SUCCESS, J.ON_HOLD, J.BLOCKED], WorkflowStatus.ON_HOLD),
        ([J.FAILED, J.ON_HOLD, J.BLOCKED], WorkflowStatus.FAILING),
        ([J.RUNNING, J.ON_HOLD, J.BLOCKED], WorkflowStatus.RUNNING),
        ([J.SUCCESS, J.BLOCKED], WorkflowStatus.RUNNING),
        ([J.SUCCESS, J.UNAUTHORIZED, J.NOT_RUN], WorkflowStatus.UNAUTHORIZED),
        ([J.CANCELED, J.NOT_RUN], WorkflowStatus.CANCELED),
    ],
)
def test_workflow_status(statuses: list[JobStatus], expected: WorkflowStatus) -> None:
    assert workflow_status(statuses) is expected


def test_seal_open_and_rotation() -> None:
    old = SecretBox("first passphrase")
    sealed = old.seal("value-1234")
    assert "value-1234" not in sealed and old.open(sealed) == "value-1234"
    rotated = SecretBox("new passphrase,first passphrase")
    assert rotated.open(sealed) == "value-1234"
    with pytest.raises(SecretsUnavailable):
        SecretBox("another key").open(sealed)


def test_mask() -> None:
    assert mask("s3cr3t-value-0042") == "xxxx0042"
    assert mask("short") == "xxxx"


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key = load_key("", tmp_path / "data")
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key("", tmp_path / "data") == key
    assert load_key("configured", tmp_path / "data") == "configured"
    SecretBox(key).seal("works with the generated key")


async def test_each_store_gives_its_transactions_its_own_box(tmp_path: Path) -> None:
    """No process-wide registry: two stores in one process seal with their own keys, and a store given
    no box has none."""
    first = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", shared={BOX: SecretBox("key-a")})
    second = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    second.share(BOX, SecretBox("key-b"))
    bare = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        async with first.transaction() as tx:
            sealed = box_for(tx).seal("value")
            assert box_for(tx).open(sealed) == "value"
        async with second.transaction() as tx:
            with pytest.raises(SecretsUnavailable):
                box_for(tx).open(sealed)
        async with bare.transaction() as tx:
            with pytest.raises(SecretsUnavailable):
                box_for(tx)
    finally:
        for store in (first, second, bare):
            await store.close()
