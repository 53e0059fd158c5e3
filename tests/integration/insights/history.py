"""The hand-built history every Insights figure in the tests is computed from (by hand, in comments).

Workflow ``build`` (jobs ``lint``: always success, 10 s; ``test``: the workflow's status and duration),
times relative to ``now`` (d = days, h = hours, m = minutes); duration in seconds:

  label  branch  created   status    dur  revision  tests on job "test"
  r12    main    -20d      success   600  old       test_d failure 1.0 s
  r14    main    -20d+1h   success   610  old       test_d success 1.0 s   (flaked 20 days ago: expired)
  r11    main    -10d      failed     40  c11
  r10    main    -7d-1h    success   500  c10       <- just outside last-7-days
  r13    main    -7d+10m   success   150  c13       <- just inside last-7-days
  r1     main    -6d       success   100  c1
  r2     main    -5d       failed     50  r2        test_a failure 1.5 s, test_b success 0.7 s
  r3     main    -5d+1h    failed     60  r2        test_a success 0.5 s, test_b failure 2.5 s  (same commit)
  r4     main    -4d       success   200  r4        test_c failure 0.2 s
  r5     main    -3d       canceled   30  c5
  r6     main    -2d       success   300  r6        test_c success 0.3 s   (another commit: not flaky)
  r7     main    -1h       success   400  c7        <- the only run in last-24-hours
  r8     feat    -3d       failed     70  f8
  r9     feat    -2d       success    80  f9

Workflow ``perf``: 20 successful runs on main at -3d + i minutes, durations 10, 20, ..., 200 s.
Recoveries (stop order per branch): main r11 fails at -10d+40s, r10 recovers at -7d-1h+500s
(256 060 s); r2 fails at -5d+50s, r3 fails, r4 recovers at -4d+200s (86 550 s); feat r8 fails at
-3d+70s, r9 recovers at -2d+80s (86 410 s).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from circlet.insights.seed import PastJob, PastWorkflow
from circlet.model.statuses import JobStatus, WorkflowStatus
from circlet.model.tests import TestCase, TestOutcome

D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
S, F, C = WorkflowStatus.SUCCESS, WorkflowStatus.FAILED, WorkflowStatus.CANCELED
OK, FAIL = TestOutcome.SUCCESS, TestOutcome.FAILURE

BUILD = [
    ("r12", "main", -20 * D, S, 600, "old", (("test_d", FAIL, 1.0),)),
    ("r14", "main", -20 * D + H, S, 610, "old", (("test_d", OK, 1.0),)),
    ("r11", "main", -10 * D, F, 40, "c11", ()),
    ("r10", "main", -7 * D - H, S, 500, "c10", ()),
    ("r13", "main", -7 * D + 10 * M, S, 150, "c13", ()),
    ("r1", "main", -6 * D, S, 100, "c1", ()),
    ("r2", "main", -5 * D, F, 50, "r2", (("test_a", FAIL, 1.5), ("test_b", OK, 0.7))),
    ("r3", "main", -5 * D + H, F, 60, "r2", (("test_a", OK, 0.5), ("test_b", FAIL, 2.5))),
    ("r4", "main", -4 * D, S, 200, "r4", (("test_c", FAIL, 0.2),)),
    ("r5", "main", -3 * D, C, 30, "c5", ()),
    ("r6", "main", -2 * D, S, 300, "r6", (("test_c", OK, 0.3),)),
    ("r7", "main", -1 * H, S, 400, "c7", ()),
    ("r8", "feat", -3 * D, F, 70, "f8", ()),
    ("r9", "feat", -2 * D, S, 80, "f9", ()),
]
JOB_STATUS = {S: JobStatus.SUCCESS, F: JobStatus.FAILED, C: JobStatus.CANCELED}


def build_history(now: datetime) -> tuple[list[str], list[PastWorkflow]]:
    labels, runs = [], []
    for label, branch, offset, status, duration, revision, tests in BUILD:
        created = now + offset
        stopped = created + timedelta(seconds=duration)
        cases = tuple(
            TestCase(
                name=name, classname="tests.unit", file="tests/test_unit.py", result=result, run_time=run_time
            )
            for name, result, run_time in tests
        )
        jobs = (
            PastJob(
                name="lint",
                status=JobStatus.SUCCESS,
                started_at=created,
                stopped_at=created + 10 * timedelta(seconds=1),
            ),
            PastJob(
                name="test", status=JOB_STATUS[status], started_at=created, stopped_at=stopped, tests=cases
            ),
        )
        labels.append(label)
        runs.append(
            PastWorkflow(
                name="build",
                branch=branch,
                revision=revision,
                status=status,
                created_at=created,
                stopped_at=stopped,
                jobs=jobs,
            )
        )
    for i in range(20):
        created = now - 3 * D + i * M
        labels.append(f"perf{i}")
        runs.append(
            PastWorkflow(
                name="perf", branch="main", revision=f"p{i}", status=S, created_at=created,
                stopped_at=created + timedelta(seconds=10 * (i + 1)),
            )
        )  # fmt: skip
    return labels, runs
