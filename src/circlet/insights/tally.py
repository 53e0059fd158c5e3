"""Adding up rollup rows and raw rows into the metrics of one window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from circlet.insights.durations import DurationStats, grouped_stats, histogram_stats
from circlet.insights.recording import Outcome


@dataclass(frozen=True, kw_only=True, slots=True)
class RunMetrics:
    """CircleCI's run metrics for one entity over one window (see docs/insights.md for each formula)."""

    total_runs: int
    successful_runs: int
    failed_runs: int
    canceled_runs: int
    success_rate: float  #: successful / (total - canceled); 0 when nothing completed
    throughput: float  #: runs per day over the window
    mttr: int  #: mean seconds from a failing streak's first failure to the success that ends it
    total_recoveries: int
    total_duration_s: int  #: sum over all runs (any outcome)
    durations: DurationStats  #: over successful runs
    first_at: datetime | None
    last_at: datetime | None

    @property
    def completed_runs(self) -> int:
        return self.successful_runs + self.failed_runs


@dataclass
class Tally:
    """A mutable sum of rollup rows and raw rows; ``metrics()`` freezes it."""

    total_runs: int = 0
    successful_runs: int = 0
    failed_runs: int = 0
    canceled_runs: int = 0
    duration_total_s: int = 0
    recoveries: int = 0
    recovery_total_s: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    blobs: list[bytes] = field(default_factory=list)
    raw_durations: list[int] = field(default_factory=list)

    def add_rollup(
        self,
        counts: tuple[int, int, int, int, int],
        first_at: datetime | None,
        last_at: datetime | None,
        durations: bytes | None = None,
        recoveries: tuple[int, int] = (0, 0),
    ) -> None:
        total, successful, failed, canceled, duration_total = counts
        self.total_runs += total
        self.successful_runs += successful
        self.failed_runs += failed
        self.canceled_runs += canceled
        self.duration_total_s += duration_total
        self.recoveries += recoveries[0]
        self.recovery_total_s += recoveries[1]
        if first_at is not None and last_at is not None:
            self._span(first_at, last_at)
        if durations:
            self.blobs.append(durations)

    def add_run(
        self, outcome: Outcome, duration_s: int, first_at: datetime, last_at: datetime, recovery_s: int | None
    ) -> None:
        self.total_runs += 1
        self.successful_runs += outcome is Outcome.SUCCESS
        self.failed_runs += outcome is Outcome.FAILED
        self.canceled_runs += outcome is Outcome.CANCELED
        self.duration_total_s += duration_s
        if outcome is Outcome.SUCCESS:
            self.raw_durations.append(duration_s)
        if recovery_s is not None:
            self.recoveries += 1
            self.recovery_total_s += recovery_s
        self._span(first_at, last_at)

    def absorb(self, other: Tally) -> None:
        """Add another tally (of disjoint runs) into this one."""
        self.total_runs += other.total_runs
        self.successful_runs += other.successful_runs
        self.failed_runs += other.failed_runs
        self.canceled_runs += other.canceled_runs
        self.duration_total_s += other.duration_total_s
        self.recoveries += other.recoveries
        self.recovery_total_s += other.recovery_total_s
        self.blobs.extend(other.blobs)
        self.raw_durations.extend(other.raw_durations)
        if other.first_at is not None and other.last_at is not None:
            self._span(other.first_at, other.last_at)

    def _span(self, first_at: datetime, last_at: datetime) -> None:
        self.first_at = first_at if self.first_at is None else min(self.first_at, first_at)
        self.last_at = last_at if self.last_at is None else max(self.last_at, last_at)

    def metrics(self, days: float, durations: DurationStats | None = None) -> RunMetrics:
        """The window's metrics; ``durations`` when they were already computed (see ``metrics_of``)."""
        counted = self.total_runs - self.canceled_runs
        return RunMetrics(
            total_runs=self.total_runs,
            successful_runs=self.successful_runs,
            failed_runs=self.failed_runs,
            canceled_runs=self.canceled_runs,
            success_rate=self.successful_runs / counted if counted else 0.0,
            throughput=self.total_runs / days if days > 0 else 0.0,
            mttr=math.floor(self.recovery_total_s / self.recoveries + 0.5) if self.recoveries else 0,
            total_recoveries=self.recoveries,
            total_duration_s=self.duration_total_s,
            durations=durations or histogram_stats(self.blobs, self.raw_durations),
            first_at=self.first_at,
            last_at=self.last_at,
        )


def metrics_of(tallies: Sequence[Tally], days: float) -> list[RunMetrics]:
    """``metrics(days)`` of many tallies, their duration statistics computed together (one sort)."""
    stats = grouped_stats([(t.blobs, t.raw_durations) for t in tallies])
    return [t.metrics(days, d) for t, d in zip(tallies, stats, strict=True)]


def trend(current: float | None, previous: float | None) -> float:
    """Relative change against the previous window: (current - previous) / previous; 0 without a base."""
    if not previous:
        return 0.0
    return ((current or 0) - previous) / previous
