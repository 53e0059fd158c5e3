"""Insights rows: one compact row per finished run, daily rollups, branch states, test results and flakes.

Rollup rows are keyed by UTC day number (days since 1970-01-01) and by week (``day // 7``, for long
windows); job runs are also rolled up by UTC hour (hours since the epoch, for hourly time series). The branch ``"*"`` holds the sum over
all branches (``*`` cannot appear in a git ref), so all-branch queries read one row per day.
``durations`` is a histogram of the whole-second durations of the bucket's successful runs: packed
little-endian int32 ``(duration_s, count)`` pairs, each duration once; exact percentiles, sums and
standard deviations are computed from the merged histograms of a window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from circlet.store._types import UTCDateTime
from circlet.store.tables import ID, Base

NAME = String(250)
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


def _project_fk() -> ForeignKey:
    return ForeignKey("projects.id", ondelete="CASCADE")


class TestResultRow(Base):
    """One test case of one job run."""

    __test__ = False
    __tablename__ = "test_results"
    __table_args__ = (
        Index("ix_test_results_workflow", "workflow_id"),
        Index("ix_test_results_revision", "project_id", "revision"),
        Index("ix_test_results_job", "job_id"),
    )
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(_project_fk())
    job_id: Mapped[str] = mapped_column(ID)
    job_number: Mapped[int | None] = mapped_column(Integer)
    workflow_id: Mapped[str] = mapped_column(ID)
    workflow_name: Mapped[str] = mapped_column(NAME)
    job_name: Mapped[str] = mapped_column(NAME)
    branch: Mapped[str] = mapped_column(NAME)
    revision: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    classname: Mapped[str] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(20))  #: success | failure | skipped | error
    message: Mapped[str | None] = mapped_column(Text)
    run_time: Mapped[float] = mapped_column(Float)  #: seconds
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkflowRunRow(Base):
    """A finished workflow run, as Insights counts it (the raw rows behind the rollups)."""

    __tablename__ = "insights_workflow_runs"
    __table_args__ = (
        Index("ix_insights_wf_runs_name", "project_id", "workflow_name", "created_at"),
        Index("ix_insights_wf_runs_branch", "project_id", "workflow_name", "branch", "created_at"),
        Index("ix_insights_wf_runs_project", "project_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)  #: the workflow id
    project_id: Mapped[str] = mapped_column(_project_fk())
    workflow_name: Mapped[str] = mapped_column(NAME)
    branch: Mapped[str] = mapped_column(NAME)
    pipeline_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[int] = mapped_column(Integer)
    recovery_s: Mapped[int | None] = mapped_column(Integer)  #: set when this success ended a failing streak
    is_approval: Mapped[bool] = mapped_column(Boolean, default=False)


class JobRunRow(Base):
    """A finished job run, as Insights counts it."""

    __tablename__ = "insights_job_runs"
    __table_args__ = (
        Index("ix_insights_job_runs_name", "project_id", "workflow_name", "started_at"),
        Index("ix_insights_job_runs_branch", "project_id", "workflow_name", "branch", "started_at"),
        Index("ix_insights_job_runs_job", "project_id", "workflow_name", "job_name", "started_at"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)  #: the job id
    project_id: Mapped[str] = mapped_column(_project_fk())
    workflow_id: Mapped[str] = mapped_column(ID)
    workflow_name: Mapped[str] = mapped_column(NAME)
    job_name: Mapped[str] = mapped_column(NAME)
    job_number: Mapped[int | None] = mapped_column(Integer)
    branch: Mapped[str] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime] = mapped_column(
        UTCDateTime()
    )  #: the bucket time (created_at if it never started)
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[int] = mapped_column(Integer)


class _Rollup:
    """What every rollup row sums: run counts by outcome, durations (total and histogram), run times."""

    total_runs: Mapped[int] = mapped_column(Integer)
    successful_runs: Mapped[int] = mapped_column(Integer)
    failed_runs: Mapped[int] = mapped_column(Integer)
    canceled_runs: Mapped[int] = mapped_column(Integer)
    duration_total_s: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())  #: earliest run time (jobs: start)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())  #: latest run time (jobs: stop)
    durations: Mapped[bytes] = mapped_column(LargeBinary)  #: histogram of successful durations


class _WorkflowRollup(_Rollup):
    """A workflow rollup row: keyed by project, branch, time bucket and workflow (in that key order, so a
    window read is one range scan of the key); it also sums MTTR recoveries."""

    project_id: Mapped[str] = mapped_column(_project_fk())
    branch: Mapped[str] = mapped_column(NAME)
    workflow_name: Mapped[str] = mapped_column(NAME)
    recoveries: Mapped[int] = mapped_column(Integer)
    recovery_total_s: Mapped[int] = mapped_column(BigInteger)


class WorkflowDayRow(_WorkflowRollup, Base):
    """Per project, workflow, branch (``*`` = all) and UTC day: counts, sums and successful durations."""

    __tablename__ = "insights_workflow_days"
    __table_args__ = (PrimaryKeyConstraint("project_id", "branch", "day", "workflow_name"),)
    day: Mapped[int] = mapped_column(Integer)


class WorkflowWeekRow(_WorkflowRollup, Base):
    """Per project, workflow, branch (``*`` = all) and week (UTC days ``7 * week`` to ``7 * week + 6``)."""

    __tablename__ = "insights_workflow_weeks"
    __table_args__ = (PrimaryKeyConstraint("project_id", "branch", "week", "workflow_name"),)
    week: Mapped[int] = mapped_column(Integer)


class _JobRollup(_Rollup):
    """A job rollup row: keyed by project, workflow, branch, time bucket and job (in that key order)."""

    project_id: Mapped[str] = mapped_column(_project_fk())
    workflow_name: Mapped[str] = mapped_column(NAME)
    branch: Mapped[str] = mapped_column(NAME)
    job_name: Mapped[str] = mapped_column(NAME)


class JobDayRow(_JobRollup, Base):
    """Per project, workflow, job, branch (``*`` = all) and UTC day."""

    __tablename__ = "insights_job_days"
    __table_args__ = (PrimaryKeyConstraint("project_id", "workflow_name", "branch", "day", "job_name"),)
    day: Mapped[int] = mapped_column(Integer)


class JobHourRow(_JobRollup, Base):
    """Per project, workflow, job, branch (``*`` = all) and UTC hour (hours since 1970-01-01)."""

    __tablename__ = "insights_job_hours"
    __table_args__ = (PrimaryKeyConstraint("project_id", "workflow_name", "branch", "hour", "job_name"),)
    hour: Mapped[int] = mapped_column(Integer)


class JobWeekRow(_JobRollup, Base):
    """Per project, workflow, job, branch (``*`` = all) and week (UTC days ``7 * week`` to ``7 * week + 6``)."""

    __tablename__ = "insights_job_weeks"
    __table_args__ = (PrimaryKeyConstraint("project_id", "workflow_name", "branch", "week", "job_name"),)
    week: Mapped[int] = mapped_column(Integer)


class BranchStateRow(Base):
    """Whether a workflow is failing on a branch, and since when (for MTTR)."""

    __tablename__ = "insights_branch_states"
    project_id: Mapped[str] = mapped_column(_project_fk(), primary_key=True)
    workflow_name: Mapped[str] = mapped_column(NAME, primary_key=True)
    branch: Mapped[str] = mapped_column(NAME, primary_key=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FlakyTestRow(Base):
    """A test that both passed and failed on one commit; kept while it flaked in the last 14 days."""

    __tablename__ = "insights_flaky_tests"
    __table_args__ = (Index("ix_insights_flaky_last", "project_id", "last_flaked_at"),)
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(_project_fk())
    test_key: Mapped[str] = mapped_column(
        String(64), unique=True
    )  #: sha256 of project/workflow/job/class/name
    workflow_name: Mapped[str] = mapped_column(NAME)
    job_name: Mapped[str] = mapped_column(NAME)
    classname: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    times_flaked: Mapped[int] = mapped_column(Integer)
    time_wasted_s: Mapped[float] = mapped_column(Float)
    last_flaked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    workflow_id: Mapped[str] = mapped_column(ID)
    workflow_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pipeline_number: Mapped[int] = mapped_column(Integer)
    job_number: Mapped[int | None] = mapped_column(Integer)
