"""Test cases a job reported (JUnit results), as recorded for Insights."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TestOutcome(StrEnum):
    __test__ = False  # not a pytest test class

    SUCCESS = "success"
    FAILURE = "failure"  #: an assertion failed
    SKIPPED = "skipped"
    ERROR = "error"  #: the test crashed before it could pass or fail

    @property
    def is_failure(self) -> bool:
        return self in (TestOutcome.FAILURE, TestOutcome.ERROR)


@dataclass(frozen=True, kw_only=True, slots=True)
class TestCase:
    """One test case of one job run, as parsed from the job's JUnit XML."""

    __test__ = False  # not a pytest test class

    name: str
    classname: str = ""
    file: str | None = None
    result: TestOutcome = TestOutcome.SUCCESS
    message: str | None = None
    run_time: float = 0.0  #: seconds
    source: str | None = None  #: the results file or directory the case came from
