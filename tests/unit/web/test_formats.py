"""Durations and relative times as a page shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from circlet.web.formats import ago, between, duration, percent, short_sha

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (-1, "—"),
        (0, "0s"),
        (0.25, "250ms"),
        (7, "7s"),
        (65, "1m 05s"),
        (3600 + 120, "1h 02m"),
        (2 * 86400 + 3 * 3600, "2d 03h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_between_uses_now_while_running() -> None:
    start = NOW - timedelta(seconds=90)
    assert between(start, None, NOW) == 90
    assert between(start, None) is None
    assert between(None, NOW) is None
    assert between(start, start + timedelta(seconds=5), NOW) == 5


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=3), "just now"),
        (timedelta(seconds=42), "42s ago"),
        (timedelta(minutes=5), "5m ago"),
        (timedelta(hours=3), "3h ago"),
        (timedelta(days=2), "2d ago"),
        (timedelta(days=30), "Jan 30, 2025"),
    ],
)
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text


def test_small_helpers() -> None:
    assert ago(None) == "—"
    assert short_sha("0123456789abcdef") == "0123456"
    assert percent(0.856) == "86%"
    assert percent(None) == "—"
