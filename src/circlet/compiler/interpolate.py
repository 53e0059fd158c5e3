"""``<< ... >>`` substitution: references, expressions, mustache sections and the ``\\<<`` escape.

A :class:`Scope` knows some names (``parameters.*``, ``pipeline.*``, ``matrix.*``). References it does not
own are left untouched for a later pass; references in a scope it owns but that are not declared are
reported once the pass that owns them runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from circlet.compiler import expressions

_REFERENCE = re.compile(r"(?<!\\)<<(?![<#^/])\s*([^\n<>]*?)\s*>>")
_SECTION = re.compile(r"(?<!\\)<<([#^])\s*([A-Za-z][\w.-]*)\s*>>(.*?)<</\s*\2\s*>>", re.DOTALL)
_SIMPLE_NAME = re.compile(r"^[A-Za-z][\w-]*(?:\.[A-Za-z0-9_][\w-]*)*$")
MAX_SECTION_PASSES = 50
TEMPLATE_CACHE_SIZE = 8192  #: strings whose references are remembered


class MissingReference(Exception):
    """A ``parameters.x`` or ``matrix.x`` reference with no declared value in its scope."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True, slots=True)
class Scope:
    """Values visible to one substitution pass, by prefix."""

    parameters: Mapping[str, Any] | None = None  #: None: ``parameters.*`` belongs to a later pass
    pipeline: Mapping[str, Any] | None = (
        None  #: pipeline values with dotted keys, e.g. ``pipeline.git.branch``
    )
    pipeline_parameters: Mapping[str, Any] | None = None
    matrix: Mapping[str, Any] | None = None
    missing: list[str] = field(default_factory=list)  #: undeclared names seen, in order

    def owns(self, name: str) -> bool:
        if name.startswith("pipeline.parameters."):
            return self.pipeline_parameters is not None
        if name.startswith("pipeline."):
            return self.pipeline is not None
        if name.startswith("parameters."):
            return self.parameters is not None
        if name.startswith("matrix."):
            return self.matrix is not None
        return False

    def lookup(self, name: str) -> Any:
        """The value of an owned name; raises MissingReference for undeclared parameters."""
        if name.startswith("pipeline.parameters."):
            return self._get(self.pipeline_parameters, name, "pipeline.parameters.")
        if name.startswith("pipeline."):
            return (self.pipeline or {}).get(name, "")
        if name.startswith("parameters."):
            return self._get(self.parameters, name, "parameters.")
        return self._get(self.matrix, name, "matrix.")

    def _get(self, values: Mapping[str, Any] | None, name: str, prefix: str) -> Any:
        key = name[len(prefix) :]
        if values is None or key not in values:
            if name not in self.missing:
                self.missing.append(name)
            raise MissingReference(name)
        return values[key]


def render(value: Any) -> str:
    """A value as it appears inside a longer string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(value)
    if isinstance(value, dict | list):
        return _flow(value)
    return str(value)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return render(value)


Memo = dict[int, tuple[Any, bool]]  #: id(container) -> (container, whether a string in it holds the needle)


def mentions(value: Any, needle: str, memo: Memo) -> bool:
    """True when a string value anywhere in ``value`` contains ``needle`` (map keys are not looked at).

    ``memo`` remembers the answer per container, so a tree is scanned once however often it is reused;
    the containers must not change while the memo is in use.
    """
    kind = type(value)
    if kind is str:
        return needle in value
    if kind is not dict and kind is not list:
        return False
    hit = memo.get(id(value))
    if hit is not None:
        return hit[1]
    items = value.values() if kind is dict else value
    found = False
    for item in items:
        if mentions(item, needle, memo):
            found = True
            break
    memo[id(value)] = (value, found)
    return found


def substitute_shared(value: Any, scope: Scope, memo: Memo) -> Any:
    """Like :func:`substitute`, but parts without references are returned as they are, not copied.

    The result may share containers with ``value``: neither may be changed afterwards.
    """
    if not mentions(value, "<<", memo):
        return value
    if isinstance(value, str):
        return substitute_text(value, scope)
    if isinstance(value, dict):
        return {key: substitute_shared(item, scope, memo) for key, item in value.items()}
    return [substitute_shared(item, scope, memo) for item in value]


def unescape_shared(value: Any, memo: Memo) -> Any:
    """Like :func:`unescape`, but parts without escapes are returned as they are, not copied."""
    if not mentions(value, "\\<<", memo):
        return value
    if isinstance(value, str):
        return value.replace("\\<<", "<<")
    if isinstance(value, dict):
        return {key: unescape_shared(item, memo) for key, item in value.items()}
    return [unescape_shared(item, memo) for item in value]


def substitute(value: Any, scope: Scope) -> Any:
    """Substitute references in every string of ``value`` (a fresh structure; shared parts are not changed)."""
    if isinstance(value, str):
        return substitute_text(value, scope) if "<<" in value else value
    if isinstance(value, dict):
        return {key: substitute(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, scope) for item in value]
    return value


def substitute_text(text: str, scope: Scope) -> Any:
    """Substitute one string. A string that is exactly one reference takes the value's own type."""
    text = _sections(text, scope)
    whole, pieces = _template(text)
    if whole is not None:
        found, value = _resolve(whole, scope)
        return value if found else text
    out = [pieces[0]]
    for index in range(1, len(pieces), 3):
        found, value = _resolve(pieces[index], scope)
        out.append(render(value) if found else pieces[index + 1])
        out.append(pieces[index + 2])
    return "".join(out)


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _template(text: str) -> tuple[str | None, tuple[str, ...]]:
    """A string's references, found once: (the content of a string that is one whole reference, or
    None; then the text between references, each reference's content and its written form, in turn)."""
    whole = _REFERENCE.fullmatch(text)
    if whole is not None:
        return whole.group(1), ()
    pieces: list[str] = []
    start = 0
    for match in _REFERENCE.finditer(text):
        pieces += (text[start : match.start()], match.group(1), match.group(0))
        start = match.end()
    pieces.append(text[start:])
    return None, tuple(pieces)


def clear_cache() -> None:
    """Forget the strings whose references were found."""
    _template.cache_clear()


def _sections(text: str, scope: Scope) -> str:
    if "<<#" not in text and "<<^" not in text:
        return text
    for _ in range(MAX_SECTION_PASSES):

        def replace(match: re.Match[str]) -> str:
            kind, name, body = match.group(1), match.group(2), match.group(3)
            if not scope.owns(name):
                return match.group(0)
            try:
                shown = expressions.truthy(scope.lookup(name))
            except MissingReference:
                return match.group(0)
            return body if shown == (kind == "#") else ""

        replaced = _SECTION.sub(replace, text)
        if replaced == text:
            return text
        text = replaced
    return text


def _resolve(content: str, scope: Scope) -> tuple[bool, Any]:
    """(True, value) for an owned reference or expression; (False, None) to leave it as written."""
    if _SIMPLE_NAME.match(content):
        if not content.startswith(expressions.SCOPES) or not scope.owns(content):
            return (False, None)
        try:
            return (True, scope.lookup(content))
        except MissingReference:
            return (False, None)
    try:
        tree = expressions.parse(content)
    except expressions.ExpressionError:
        return (False, None)
    names = expressions.references(tree)
    if not names or not all(scope.owns(name) for name in names):
        return (False, None)
    try:
        return (True, expressions.evaluate(tree, scope.lookup))
    except (MissingReference, expressions.ExpressionError):
        return (False, None)


def unescape(value: Any) -> Any:
    """Turn every ``\\<<`` into ``<<``: the last step of compilation."""
    if isinstance(value, str):
        return value.replace("\\<<", "<<") if "\\<<" in value else value
    if isinstance(value, dict):
        return {key: unescape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unescape(item) for item in value]
    return value


def leftover_references(value: Any, prefix: str) -> list[str]:
    """Names under ``prefix`` still referenced as ``<< prefix... >>`` in ``value``."""
    found: list[str] = []
    if isinstance(value, str):
        if "<<" in value:
            for match in _REFERENCE.finditer(value):
                content = match.group(1)
                if content.startswith(prefix) and _SIMPLE_NAME.match(content):
                    found.append(content)
        return found
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for item in items:
        found.extend(leftover_references(item, prefix))
    return found
