"""YAML 1.1 scalar resolution: booleans, null, ints (with octal, binary, hex and base 60), floats."""

from __future__ import annotations

import math
import re
from typing import Any

_BOOL_TRUE = {"yes", "true", "on"}
_BOOL_WORDS = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+)$")
_SEXAGESIMAL_INT = re.compile(r"^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
RESOLVED_FIRST = "-+.0123456789~nNtTfFyYoO"  #: a plain scalar starting otherwise is a string


def resolve_scalar(value: str, plain: bool, tag: str | None) -> Any:
    """Resolve a scalar as YAML 1.1 does (booleans, null, ints, floats); quoted scalars stay strings."""
    if tag not in (None, "!"):
        return _construct_tagged(value, tag)
    if not plain or tag == "!":
        return value
    return resolve_plain(value)


def resolve_plain(value: str) -> Any:
    if not value:
        return None
    if value[0] not in RESOLVED_FIRST:
        return value
    if _BOOL_WORDS.match(value):
        return value.lower() in _BOOL_TRUE
    if _NULL.match(value):
        return None
    if _INT.match(value):
        return _to_int(value)
    if _SEXAGESIMAL_INT.match(value):
        return _sexagesimal(value, int)
    if _FLOAT.match(value):
        return _to_float(value)
    return value


def _to_int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text != "0" and text.startswith("0"):
        return sign * int(text, 8)
    return sign * int(text)


def _to_float(value: str) -> float:
    text = value.replace("_", "").lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    if ":" in text:
        return float(_sexagesimal(text, float))
    return float(text)


def _sexagesimal(value: str, kind: type) -> Any:
    sign = -1 if value.startswith("-") else 1
    total: Any = kind(0)
    for part in value.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + kind(part)
    return sign * total


def _construct_tagged(value: str, tag: str) -> Any:
    short = tag.removeprefix("tag:yaml.org,2002:")
    if short == "str":
        return value
    if short == "bool":
        return value.lower() in _BOOL_TRUE
    if short == "null":
        return None
    if short in ("int", "float"):
        resolved = resolve_plain(value)
        if isinstance(resolved, int | float) and not isinstance(resolved, bool):
            if short == "float":
                return float(resolved)
            if math.isfinite(resolved):
                return int(resolved)
    raise TagError(tag)


class TagError(Exception):
    """A tag the compiler does not construct."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag
