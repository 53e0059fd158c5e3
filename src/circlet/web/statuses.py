"""Status badges: every status has a label, an icon and a tone, so it reads without colour too."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class Badge:
    label: str  #: what a person reads: "Success", "On hold"
    icon: str  #: an id in the icon sprite (``templates/_icons.html``)
    tone: str  #: a CSS tone: ok | bad | run | hold | idle | off

    def html(self, *, compact: bool = False) -> Markup:
        text = "" if compact else f"<span>{escape(self.label)}</span>"
        title = f' title="{escape(self.label)}"' if compact else ""
        return Markup(
            f'<span class="badge tone-{self.tone}" data-status="{escape(self.label.lower())}"{title}>'
            f'<svg class="ic" aria-hidden="true"><use href="#i-{self.icon}"></use></svg>{text}'
            f"{'<span class=sr>' + str(escape(self.label)) + '</span>' if compact else ''}</span>"
        )


_BADGES: dict[str, Badge] = {
    "success": Badge("Success", "ok", "ok"),
    "failed": Badge("Failed", "fail", "bad"),
    "failing": Badge("Failing", "fail", "bad"),
    "error": Badge("Error", "alert", "bad"),
    "errored": Badge("Error", "alert", "bad"),
    "infrastructure_fail": Badge("Infra fail", "alert", "bad"),
    "timedout": Badge("Timed out", "clock", "bad"),
    "unauthorized": Badge("Unauthorized", "lock", "bad"),
    "running": Badge("Running", "run", "run"),
    "queued": Badge("Queued", "queue", "idle"),
    "blocked": Badge("Blocked", "wait", "idle"),
    "pending": Badge("Pending", "queue", "idle"),
    "created": Badge("Created", "queue", "idle"),
    "setup-pending": Badge("Setting up", "run", "run"),
    "setup": Badge("Setup", "run", "run"),
    "on_hold": Badge("On hold", "hold", "hold"),
    "canceled": Badge("Canceled", "cancel", "off"),
    "not_run": Badge("Not run", "skip", "off"),
}

#: Every status with a designed badge (others fall back to their own name).
LABELLED = frozenset(_BADGES)

#: Statuses that will still change; pages showing them keep refreshing.
ACTIVE = frozenset(
    {"running", "queued", "blocked", "pending", "created", "setup-pending", "failing", "on_hold"}
)


def badge(status: str) -> Badge:
    """The badge for any pipeline, workflow, job or step status (unknown ones read as themselves)."""
    return _BADGES.get(status) or Badge(status.replace("_", " ").capitalize(), "queue", "idle")


def badge_html(status: str, compact: bool = False) -> Markup:
    return badge(str(status)).html(compact=compact)


def is_active(status: str) -> bool:
    return str(status) in ACTIVE
