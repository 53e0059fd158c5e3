"""CircleCI schedule timetables: validation and due-time arithmetic. Pure functions, all times UTC.

A timetable fires ``per-hour`` times in each listed hour of each matching day, evenly spaced from the
top of the hour: slot ``k`` is at ``k * 3600 // per-hour`` seconds (``per-hour: 4`` fires at :00, :15,
:30 and :45). A day matches when its month is listed (or ``months`` is absent) and its weekday is in
``days-of-week`` or its day number is in ``days-of-month``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from circlet.errors import BadRequest
from circlet.model.hooks import MONTHS, WEEKDAYS, Timetable

MAX_PER_HOUR = 60
#: The longest gap between two firings: FEB 29 only, across a century year without a leap day.
MAX_SEARCH_DAYS = 8 * 366 + 1
_LONGEST_MONTH = {
    name: (29 if name == "FEB" else calendar.monthrange(2001, i + 1)[1]) for i, name in enumerate(MONTHS)
}


def parse_timetable(raw: Any) -> Timetable:
    """Validate CircleCI's wire form (``per-hour``, ``hours-of-day``, ...) into a Timetable.

    Raises:
        BadRequest: listing every problem, or when the timetable can never fire (``FEB`` with ``30``).
    """
    if not isinstance(raw, Mapping):
        raise BadRequest("timetable must be an object.")
    problems: list[str] = []
    per_hour: Any = raw.get("per-hour")
    if not _is_int(per_hour) or not 1 <= per_hour <= MAX_PER_HOUR:
        problems.append("timetable.per-hour must be an integer between 1 and 60.")
    hours = _int_list(raw.get("hours-of-day"), 0, 23, "hours-of-day", problems)
    weekdays = _name_list(raw.get("days-of-week"), WEEKDAYS, "days-of-week", problems)
    month_days = _int_list(raw.get("days-of-month"), 1, 31, "days-of-month", problems, required=False)
    months = _name_list(raw.get("months"), MONTHS, "months", problems)
    if weekdays and month_days:
        problems.append("timetable: days-of-week and days-of-month are mutually exclusive.")
    if not weekdays and not month_days and not any("days-of" in p for p in problems):
        problems.append("timetable: one of days-of-week or days-of-month is required.")
    if problems:
        raise BadRequest(" ".join(problems))
    timetable = Timetable(
        per_hour=int(per_hour),
        hours_of_day=hours,
        days_of_week=weekdays,
        days_of_month=month_days,
        months=months,
    )
    if not fires_ever(timetable):
        raise BadRequest("timetable: none of the days-of-month exists in the listed months.")
    return timetable


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_list(
    value: Any, low: int, high: int, name: str, problems: list[str], *, required: bool = True
) -> tuple[int, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not value or not all(_is_int(v) and low <= v <= high for v in value):
        problems.append(f"timetable.{name} must be a non-empty list of integers from {low} to {high}.")
        return ()
    return tuple(sorted(set(value)))


def _name_list(value: Any, names: tuple[str, ...], name: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append(f"timetable.{name} must be a non-empty list of {', '.join(names)}.")
        return ()
    upper = {v.upper() for v in value}
    unknown = sorted(upper - set(names))
    if unknown:
        problems.append(f"timetable.{name}: unknown value(s) {', '.join(unknown)}.")
        return ()
    return tuple(n for n in names if n in upper)


def timetable_json(timetable: Timetable) -> dict[str, Any]:
    """The wire form, keys in CircleCI's spelling; ``months`` only when given."""
    body: dict[str, Any] = {"per-hour": timetable.per_hour, "hours-of-day": list(timetable.hours_of_day)}
    if timetable.days_of_week:
        body["days-of-week"] = list(timetable.days_of_week)
    if timetable.days_of_month:
        body["days-of-month"] = list(timetable.days_of_month)
    if timetable.months:
        body["months"] = list(timetable.months)
    return body


def fires_ever(timetable: Timetable) -> bool:
    """False when every listed day-of-month is missing from every listed month."""
    if timetable.days_of_week:
        return True
    months = timetable.months or MONTHS
    return any(day <= _LONGEST_MONTH[m] for m in months for day in timetable.days_of_month)


def slot_offsets(per_hour: int) -> tuple[timedelta, ...]:
    """Offsets from the top of the hour of each firing."""
    return tuple(timedelta(seconds=k * 3600 // per_hour) for k in range(per_hour))


def day_matches(timetable: Timetable, day: date) -> bool:
    if timetable.months and MONTHS[day.month - 1] not in timetable.months:
        return False
    if timetable.days_of_week:
        return WEEKDAYS[day.weekday()] in timetable.days_of_week
    return day.day in timetable.days_of_month


def _slots(timetable: Timetable, day: date) -> list[datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    offsets = slot_offsets(timetable.per_hour)
    return [start + timedelta(hours=h) + o for h in timetable.hours_of_day for o in offsets]


def _days(start: date, step: int, count: int = MAX_SEARCH_DAYS) -> Iterator[date]:
    for n in range(count):
        try:
            yield start + timedelta(days=n * step)
        except OverflowError:
            return


def latest_due(timetable: Timetable, now: datetime, *, not_before: datetime | None = None) -> datetime | None:
    """The last firing time at or before ``now``; None if there is none (at or after ``not_before``)."""
    now = now.astimezone(UTC)
    count = MAX_SEARCH_DAYS
    if not_before is not None:
        count = min(count, (now.date() - not_before.astimezone(UTC).date()).days + 1)
    for day in _days(now.date(), -1, count):
        if day_matches(timetable, day):
            earlier = [t for t in _slots(timetable, day) if t <= now]
            if earlier:
                return earlier[-1] if not_before is None or earlier[-1] >= not_before else None
    return None


def next_due(timetable: Timetable, after: datetime) -> datetime | None:
    """The first firing time strictly after ``after``."""
    after = after.astimezone(UTC)
    for day in _days(after.date(), 1):
        if day_matches(timetable, day):
            later = [t for t in _slots(timetable, day) if t > after]
            if later:
                return later[0]
    return None
