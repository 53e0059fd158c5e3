"""Reporting windows and how one splits into whole UTC days (read from rollups) and partial edges (raw rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from circlet.errors import BadRequest

DAY_S = 86_400  # seconds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ReportingWindow(StrEnum):
    LAST_24_HOURS = "last-24-hours"
    LAST_7_DAYS = "last-7-days"
    LAST_30_DAYS = "last-30-days"
    LAST_60_DAYS = "last-60-days"
    LAST_90_DAYS = "last-90-days"

    @property
    def days(self) -> int:
        return {"last-24-hours": 1, "last-7-days": 7, "last-30-days": 30, "last-60-days": 60}.get(
            self.value, 90
        )

    @classmethod
    def parse(cls, value: str | None, default: ReportingWindow) -> ReportingWindow:
        if value is None or value == "":
            return default
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(w.value for w in cls)
            raise BadRequest(f"Invalid reporting-window {value!r}; expected one of {allowed}.") from None


def day_of(moment: datetime) -> int:
    """The UTC day number (days since 1970-01-01) that ``moment`` falls in."""
    return int((moment - EPOCH).total_seconds() // DAY_S)


HOUR_S = 3_600  # seconds
WEEK_DAYS = 7  #: week ``w`` holds UTC days ``7w`` to ``7w + 6``


def hour_of(moment: datetime) -> int:
    """The UTC hour number (hours since 1970-01-01) that ``moment`` falls in."""
    return int((moment - EPOCH).total_seconds() // HOUR_S)


def week_of(moment: datetime) -> int:
    return day_of(moment) // WEEK_DAYS


def hour_start(hour: int) -> datetime:
    return EPOCH + timedelta(seconds=hour * HOUR_S)


def split_hours(start: datetime, end: datetime) -> tuple[range, list[tuple[datetime, datetime]]]:
    """Whole UTC hours inside ``[start, end)``, and the partial hours at its two ends."""
    first = int(-((EPOCH - start).total_seconds() // HOUR_S))  # the first hour that starts at or after start
    last = hour_of(end)  # the hour holding ``end`` is partial (or starts exactly at ``end``)
    if first >= last:
        return range(0), [(start, end)] if start < end else []
    edges = [(start, hour_start(first)), (hour_start(last), end)]
    return range(first, last), [(a, b) for a, b in edges if a < b]


def split_weeks(days: range) -> tuple[range, list[range]]:
    """Whole weeks inside a range of days, and the leftover days before and after them."""
    first = -(-days.start // WEEK_DAYS)
    last = days.stop // WEEK_DAYS
    if first >= last:
        return range(0), [days] if len(days) else []
    before, after = range(days.start, first * WEEK_DAYS), range(last * WEEK_DAYS, days.stop)
    return range(first, last), [r for r in (before, after) if len(r)]


def midnight(day: int) -> datetime:
    return EPOCH + timedelta(days=day)


@dataclass(frozen=True, slots=True)
class Window:
    """The half-open interval ``[start, end)`` of run times that a metric covers."""

    start: datetime
    end: datetime

    @classmethod
    def last(cls, window: ReportingWindow, now: datetime) -> Window:
        return cls(now - timedelta(days=window.days), now)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / DAY_S

    def previous(self) -> Window:
        """The window of the same length that ends where this one starts (for trends)."""
        return Window(self.start - (self.end - self.start), self.start)

    def split(self) -> tuple[range, list[tuple[datetime, datetime]]]:
        """Whole UTC days inside the window, and the partial edges (together at most one day long)."""
        first_full = -((EPOCH - self.start).total_seconds() // DAY_S)  # ceil of the start's day number
        first = int(first_full)
        last = day_of(self.end)  # the day that holds ``end`` is partial (or starts exactly at ``end``)
        if first >= last:
            return range(0), [(self.start, self.end)]
        edges = [(self.start, midnight(first)), (midnight(last), self.end)]
        return range(first, last), [(a, b) for a, b in edges if a < b]
