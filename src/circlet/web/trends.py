"""Trend arrows for Insights: how a metric moved against the window before, and whether that is good."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FLAT_BELOW = 0.02  #: changes under 2% read as flat

Better = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class Trend:
    arrow: str  #: ▲ ▼ or ▬
    css: str  #: up-good | up-bad | down-good | down-bad | flat
    text: str  #: "+12%", "-30%", "new" or "no change"

    @property
    def label(self) -> str:
        """What a screen reader says."""
        if self.css == "flat":
            return "no change from the previous window"
        word = "better" if self.css.endswith("good") else "worse"
        return f"{self.text} against the previous window ({word})"


def trend(current: float | None, previous: float | None, *, better: Better) -> Trend | None:
    """None when there is nothing to compare against."""
    if current is None or previous is None:
        return None
    if previous == 0:
        return None if current == 0 else Trend("▲", f"up-{_judge('up', better)}", "new")
    change = (current - previous) / abs(previous)
    if abs(change) < FLAT_BELOW:
        return Trend("▬", "flat", "no change")
    direction: Better = "up" if change > 0 else "down"
    sign = "+" if change > 0 else "-"
    return Trend(
        "▲" if change > 0 else "▼", f"{direction}-{_judge(direction, better)}", f"{sign}{abs(change):.0%}"
    )


def _judge(direction: Better, better: Better) -> str:
    return "good" if direction == better else "bad"
