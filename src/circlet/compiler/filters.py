"""Branch and tag filters on workflow jobs (map form and expression form)."""

from __future__ import annotations

from typing import Any

from circlet.compiler import conditions
from circlet.compiler.conditions import Lookup
from circlet.compiler.regexes import RegexError, compile_pattern, is_slashed


class FilterError(ValueError):
    """A filter that cannot be read (bad regex, wrong shape)."""


def matches_any(patterns: Any, value: str) -> bool:
    """True when ``value`` equals a plain pattern or fully matches a ``/regex/`` one."""
    items = patterns if isinstance(patterns, list) else [patterns]
    for item in items:
        if item is None:
            continue
        text = str(item)
        if is_slashed(text):
            try:
                if compile_pattern(text[1:-1]).fullmatch(value):
                    return True
            except RegexError as exc:
                raise FilterError(str(exc)) from None
        elif text == value:
            return True
    return False


def _check(rule: Any, value: str, kind: str, label: str) -> str | None:
    if rule is None:
        return None
    if not isinstance(rule, dict):
        raise FilterError(f"filters.{kind} must be a map with 'only' and/or 'ignore'")
    only, ignore = rule.get("only"), rule.get("ignore")
    if only is not None and not matches_any(only, value):
        return f"{label} '{value}' is not in filters.{kind}.only"
    if ignore is not None and matches_any(ignore, value):
        return f"{label} '{value}' matches filters.{kind}.ignore"
    return None


def evaluate(filters: Any, *, branch: str, tag: str, lookup: Lookup) -> str | None:
    """Why a job with these filters does not run for this trigger, or None when it runs.

    A tag pipeline runs a job only when the job has a tags filter that lets the tag through.
    """
    if isinstance(filters, str):
        try:
            passes = conditions.evaluate(filters, lookup) if filters.strip() else True
        except conditions.ConditionError as exc:
            raise FilterError(str(exc)) from None
        return None if passes else f"filters: {filters} is false"
    if filters is not None and not isinstance(filters, dict):
        raise FilterError("filters must be a map (branches, tags) or an expression string")
    rules = filters or {}
    if tag:
        if rules.get("tags") is None:
            return f"it has no tags filter, so it does not run for tag '{tag}'"
        return _check(rules.get("tags"), tag, "tags", "tag")
    return _check(rules.get("branches"), branch, "branches", "branch")
