"""A window splits into whole UTC days and partial edges that cover it exactly once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circlet.errors import BadRequest
from circlet.insights.tally import trend
from circlet.insights.windows import ReportingWindow, Window, day_of, midnight, split_weeks

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize("window", list(ReportingWindow))
def test_edges_are_at_most_one_day(window: ReportingWindow) -> None:
    days, edges = Window.last(window, NOW).split()
    assert sum(((b - a) for a, b in edges), timedelta()) == timedelta(days=1)
    assert len(days) == window.days - 1


@given(
    start=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    length_s=st.integers(min_value=1, max_value=90 * 86_400),
)
def test_split_covers_the_window_exactly(start: datetime, length_s: int) -> None:
    window = Window(start, start + timedelta(seconds=length_s))
    days, edges = window.split()
    pieces = [(midnight(d), midnight(d + 1)) for d in days] + edges
    pieces.sort()
    assert pieces[0][0] == window.start
    assert pieces[-1][1] == window.end
    for (_, end), (start_next, _) in itertools.pairwise(pieces):
        assert end == start_next


def test_previous_window_has_the_same_length() -> None:
    window = Window.last(ReportingWindow.LAST_7_DAYS, NOW)
    assert window.previous() == Window(NOW - timedelta(days=14), NOW - timedelta(days=7))
    assert day_of(NOW) == day_of(midnight(day_of(NOW)))


def test_parse_rejects_unknown_windows() -> None:
    assert ReportingWindow.parse(None, ReportingWindow.LAST_90_DAYS) is ReportingWindow.LAST_90_DAYS
    with pytest.raises(BadRequest):
        ReportingWindow.parse("last-2-days", ReportingWindow.LAST_90_DAYS)


def test_trend() -> None:
    assert trend(8, 2) == 3.0
    assert trend(1, 2) == -0.5
    assert trend(5, 0) == 0.0
    assert trend(None, 4) == -1.0


@pytest.mark.parametrize(
    ("days", "weeks", "loose"),
    [
        (range(0), range(0), []),
        (range(3, 5), range(0), [range(3, 5)]),
        (range(7, 14), range(1, 2), []),
        (range(5, 30), range(1, 4), [range(5, 7), range(28, 30)]),
        (range(20_000, 20_090), range(2858, 2870), [range(20_000, 20_006)]),
    ],
)
def test_whole_weeks_and_leftover_days(days: range, weeks: range, loose: list[range]) -> None:
    assert split_weeks(days) == (weeks, loose)
