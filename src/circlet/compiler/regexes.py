"""Java-style regexes as CircleCI accepts them (no lookarounds, backreferences or possessive quantifiers)."""

from __future__ import annotations

import re
from functools import lru_cache

_FORBIDDEN = (
    (re.compile(r"\(\?<?[=!]"), "lookarounds"),
    (re.compile(r"\\[1-9]|\\k<"), "backreferences"),
    (re.compile(r"[*+?}]\+"), "possessive quantifiers"),
)


class RegexError(ValueError):
    """A pattern CircleCI would refuse."""


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a CircleCI (Java-syntax) pattern for full matching.

    Raises:
        RegexError: the pattern uses a refused construct or does not compile.
    """
    for forbidden, what in _FORBIDDEN:
        if forbidden.search(pattern.replace("\\\\", "")):
            raise RegexError(f"regular expression /{pattern}/ uses {what}, which are not supported")
    try:
        return re.compile(pattern.replace("\\Z", "\\Z").replace("\\z", "\\Z"))
    except re.error as exc:
        raise RegexError(f"invalid regular expression /{pattern}/: {exc}") from None


def full_match(pattern: str, value: str) -> bool:
    """True when ``value`` matches all of ``pattern``."""
    return compile_pattern(pattern).fullmatch(value) is not None


def is_slashed(text: str) -> bool:
    """True for ``/regex/`` (a pattern written between slashes)."""
    return len(text) > 1 and text.startswith("/") and text.endswith("/")
