"""Trend arrows: the direction of change and whether it is good for that metric."""

from __future__ import annotations

from circlet.web.trends import trend


def test_up_is_good_for_success_rate() -> None:
    t = trend(0.9, 0.6, better="up")
    assert t is not None and (t.arrow, t.css, t.text) == ("▲", "up-good", "+50%")
    assert "better" in t.label


def test_down_is_good_for_durations() -> None:
    t = trend(80, 100, better="down")
    assert t is not None and (t.arrow, t.css, t.text) == ("▼", "down-good", "-20%")
    worse = trend(120, 100, better="down")
    assert worse is not None and worse.css == "up-bad" and "worse" in worse.label


def test_small_changes_are_flat_and_missing_values_have_no_trend() -> None:
    flat = trend(101, 100, better="up")
    assert flat is not None and flat.css == "flat"
    assert trend(None, 1, better="up") is None
    assert trend(0, 0, better="up") is None
    new = trend(5, 0, better="up")
    assert new is not None and new.text == "new"
