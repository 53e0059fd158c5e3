"""How times and durations read on a page: ``1m 05s``, ``3h ago``, ``2025-03-01 14:02 UTC``."""

from __future__ import annotations

from datetime import UTC, datetime

MINUTE = 60  # seconds
HOUR = 3600  # seconds
DAY = 86400  # seconds
WEEK = 7 * DAY


def duration(seconds: float | None) -> str:
    """A short human duration; ``—`` when unknown."""
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 1:
        return f"{int(seconds * 1000)}ms" if seconds > 0 else "0s"
    whole = int(seconds)
    if whole < MINUTE:
        return f"{whole}s"
    if whole < HOUR:
        return f"{whole // MINUTE}m {whole % MINUTE:02d}s"
    if whole < DAY:
        return f"{whole // HOUR}h {(whole % HOUR) // MINUTE:02d}m"
    return f"{whole // DAY}d {(whole % DAY) // HOUR:02d}h"


def between(start: datetime | None, end: datetime | None, now: datetime | None = None) -> float | None:
    """Seconds from ``start`` to ``end`` (or to ``now`` while still running)."""
    if start is None:
        return None
    stop = end or now
    if stop is None:
        return None
    return (stop - start).total_seconds()


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``5m ago``, ``3h ago``, ``2d ago``; older than a week reads as a date."""
    if moment is None:
        return "—"
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 10:  # noqa: PLR2004
        return "just now"
    if seconds < MINUTE:
        return f"{int(seconds)}s ago"
    if seconds < HOUR:
        return f"{int(seconds // MINUTE)}m ago"
    if seconds < DAY:
        return f"{int(seconds // HOUR)}h ago"
    if seconds < WEEK:
        return f"{int(seconds // DAY)}d ago"
    return moment.strftime("%b %d, %Y")


def timestamp(moment: datetime | None) -> str:
    """An exact UTC time for tooltips."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_sha(revision: str | None) -> str:
    return (revision or "")[:7]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def filesize(size: int | None) -> str:
    """``512 B``, ``1.5 KB``, ``3.2 MB``."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":  # noqa: PLR2004
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
