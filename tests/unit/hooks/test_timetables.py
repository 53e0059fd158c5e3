"""Timetable validation and due-time arithmetic, as tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from circlet.engine.timetables import latest_due, next_due, parse_timetable, timetable_json
from circlet.errors import BadRequest


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DAILY_9 = {
    "per-hour": 1,
    "hours-of-day": [9],
    "days-of-week": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"hours-of-day": [1], "days-of-week": ["MON"]}, "per-hour"),
        ({"per-hour": 0, "hours-of-day": [1], "days-of-week": ["MON"]}, "per-hour"),
        ({"per-hour": 61, "hours-of-day": [1], "days-of-week": ["MON"]}, "per-hour"),
        ({"per-hour": True, "hours-of-day": [1], "days-of-week": ["MON"]}, "per-hour"),
        ({"per-hour": 1, "hours-of-day": [24], "days-of-week": ["MON"]}, "hours-of-day"),
        ({"per-hour": 1, "hours-of-day": [], "days-of-week": ["MON"]}, "hours-of-day"),
        ({"per-hour": 1, "hours-of-day": [1]}, "one of days-of-week or days-of-month"),
        (
            {"per-hour": 1, "hours-of-day": [1], "days-of-week": ["MON"], "days-of-month": [1]},
            "mutually exclusive",
        ),
        ({"per-hour": 1, "hours-of-day": [1], "days-of-week": ["MOO"]}, "unknown value(s) MOO"),
        ({"per-hour": 1, "hours-of-day": [1], "days-of-month": [0]}, "days-of-month"),
        ({"per-hour": 1, "hours-of-day": [1], "days-of-month": [32]}, "days-of-month"),
        (
            {"per-hour": 1, "hours-of-day": [1], "days-of-month": [30, 31], "months": ["FEB"]},
            "none of the days",
        ),
        ({"per-hour": 1, "hours-of-day": [1], "days-of-month": [1], "months": ["JAN", "Smarch"]}, "SMARCH"),
        ("daily", "must be an object"),
    ],
)
def test_invalid_timetables_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_timetable(raw)


def test_problems_are_all_reported_at_once() -> None:
    with pytest.raises(BadRequest) as info:
        parse_timetable({"per-hour": 0, "hours-of-day": [99], "days-of-week": ["XYZ"]})
    assert "per-hour" in info.value.message
    assert "hours-of-day" in info.value.message
    assert "XYZ" in info.value.message


def test_wire_form_round_trips_sorted_and_deduplicated() -> None:
    raw = {
        "per-hour": 2,
        "hours-of-day": [13, 1, 1],
        "days-of-week": ["fri", "MON"],
        "months": ["DEC", "JAN"],
    }
    assert timetable_json(parse_timetable(raw)) == {
        "per-hour": 2,
        "hours-of-day": [1, 13],
        "days-of-week": ["MON", "FRI"],
        "months": ["JAN", "DEC"],
    }


@pytest.mark.parametrize(
    ("raw", "now", "latest", "following"),
    [
        # daily at 09:00
        (DAILY_9, "2031-03-05T09:00:00", "2031-03-05T09:00:00", "2031-03-06T09:00:00"),
        (DAILY_9, "2031-03-05T08:59:59", "2031-03-04T09:00:00", "2031-03-05T09:00:00"),
        (DAILY_9, "2031-12-31T23:00:00", "2031-12-31T09:00:00", "2032-01-01T09:00:00"),
        # four times an hour: :00 :15 :30 :45
        ({**DAILY_9, "per-hour": 4}, "2031-03-05T09:44:59", "2031-03-05T09:30:00", "2031-03-05T09:45:00"),
        ({**DAILY_9, "per-hour": 4}, "2031-03-05T09:50:00", "2031-03-05T09:45:00", "2031-03-06T09:00:00"),
        # seven times an hour: not a whole number of minutes apart
        ({**DAILY_9, "per-hour": 7}, "2031-03-05T09:09:00", "2031-03-05T09:08:34", "2031-03-05T09:17:08"),
        # every minute
        ({**DAILY_9, "per-hour": 60}, "2031-03-05T09:59:30", "2031-03-05T09:59:00", "2031-03-06T09:00:00"),
        # several hours
        (
            {**DAILY_9, "hours-of-day": [0, 12]},
            "2031-03-05T11:00:00",
            "2031-03-05T00:00:00",
            "2031-03-05T12:00:00",
        ),
        # weekdays: 2031-03-07 is a Friday
        (
            {"per-hour": 1, "hours-of-day": [6], "days-of-week": ["MON", "FRI"]},
            "2031-03-08T12:00:00",
            "2031-03-07T06:00:00",
            "2031-03-10T06:00:00",
        ),
        # days of the month, skipping months without a 31st
        (
            {"per-hour": 1, "hours-of-day": [0], "days-of-month": [31]},
            "2031-04-15T00:00:00",
            "2031-03-31T00:00:00",
            "2031-05-31T00:00:00",
        ),
        # months restrict the days
        (
            {"per-hour": 1, "hours-of-day": [3], "days-of-month": [1], "months": ["JUN", "DEC"]},
            "2031-09-01T03:00:00",
            "2031-06-01T03:00:00",
            "2031-12-01T03:00:00",
        ),
        # leap day only: 2100 is not a leap year
        (
            {"per-hour": 1, "hours-of-day": [0], "days-of-month": [29], "months": ["FEB"]},
            "2097-01-01T00:00:00",
            "2096-02-29T00:00:00",
            "2104-02-29T00:00:00",
        ),
    ],
)
def test_due_times(raw: dict[str, Any], now: str, latest: str, following: str) -> None:
    timetable = parse_timetable(raw)
    assert latest_due(timetable, at(now)) == at(latest)
    assert next_due(timetable, at(now)) == at(following)


def test_due_times_are_utc_whatever_the_input_zone() -> None:
    from datetime import timedelta, timezone

    timetable = parse_timetable(DAILY_9)
    paris = datetime(2031, 3, 5, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert latest_due(timetable, paris) == at("2031-03-05T09:00:00")


@pytest.mark.parametrize(
    ("now", "not_before", "expected"),
    [
        ("2031-03-05T09:04:00", "2031-03-05T08:59:00", "2031-03-05T09:00:00"),
        ("2031-03-05T09:04:00", "2031-03-05T09:00:00", "2031-03-05T09:00:00"),  # inclusive
        ("2031-03-05T09:04:00", "2031-03-05T09:00:01", None),
        ("2031-03-06T08:00:00", "2031-03-05T08:00:00", "2031-03-05T09:00:00"),  # across midnight
        ("2031-03-06T08:00:00", "2031-03-05T10:00:00", None),
    ],
)
def test_latest_due_not_before(now: str, not_before: str, expected: str | None) -> None:
    timetable = parse_timetable(DAILY_9)
    assert latest_due(timetable, at(now), not_before=at(not_before)) == (at(expected) if expected else None)
