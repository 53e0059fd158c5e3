"""Status badges read without colour: every status has its own label and an icon."""

from __future__ import annotations

import pytest

from circlet.model.statuses import JobStatus, PipelineState, StepStatus, WorkflowStatus
from circlet.web.statuses import LABELLED, badge, badge_html, is_active

ALL = sorted({s.value for e in (JobStatus, WorkflowStatus, StepStatus, PipelineState) for s in e})


@pytest.mark.parametrize("status", ALL)
def test_every_status_has_a_designed_badge(status: str) -> None:
    assert status in LABELLED
    b = badge(status)
    assert b.label and b.label[0].isupper()
    assert b.tone in {"ok", "bad", "run", "hold", "idle", "off"}


def test_tones_are_told_apart_by_icon_too() -> None:
    icons_by_tone: dict[str, set[str]] = {}
    for status in ALL:
        b = badge(status)
        icons_by_tone.setdefault(b.tone, set()).add(b.icon)
    for tone, icons in icons_by_tone.items():
        for other, other_icons in icons_by_tone.items():
            if tone != other:
                assert not icons & other_icons, (tone, other)


def test_badge_html_carries_label_icon_and_tone() -> None:
    html = str(badge_html("on_hold"))
    assert 'class="badge tone-hold"' in html
    assert "#i-hold" in html
    assert ">On hold<" in html
    compact = str(badge_html("failed", compact=True))
    assert 'title="Failed"' in compact and "Failed</span>" in compact


def test_unknown_status_reads_as_itself() -> None:
    assert badge("weird_state").label == "Weird state"


def test_active_statuses() -> None:
    assert is_active("running") and is_active("on_hold") and is_active("queued")
    assert not is_active("success") and not is_active("canceled")
