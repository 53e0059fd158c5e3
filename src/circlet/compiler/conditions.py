"""Logic statements (``and``/``or``/``not``/``equal``/``matches``) for ``when``/``unless``, evaluated at compile time."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from circlet.compiler import expressions
from circlet.compiler.interpolate import render
from circlet.compiler.regexes import RegexError, compile_pattern, is_slashed

MAX_LOGIC_DEPTH = 100  #: nesting levels
_OPERATORS = frozenset({"and", "or", "not", "equal", "matches"})

Lookup = Callable[[str], Any]


class ConditionError(ValueError):
    """A logic statement that cannot be evaluated (empty argument list, bad regex, too deep)."""


def evaluate(statement: Any, lookup: Lookup | None = None, *, depth: int = 0) -> bool:
    """Evaluate a logic statement.

    Args:
        statement: a literal, a one-key operator map, or (when ``lookup`` is given) an expression string.
        lookup: resolves names such as ``pipeline.git.branch`` for the expression form; None disables it.
    """
    if depth > MAX_LOGIC_DEPTH:
        raise ConditionError(f"logic statements nest deeper than {MAX_LOGIC_DEPTH} levels")
    if isinstance(statement, dict) and len(statement) == 1:
        ((operator, argument),) = statement.items()
        if operator in _OPERATORS:
            return _operator(str(operator), argument, lookup, depth + 1)
    if isinstance(statement, str) and lookup is not None and _looks_like_expression(statement):
        return expressions.truthy(evaluate_expression(statement, lookup))
    return expressions.truthy(statement) if not isinstance(statement, dict | list) else bool(statement)


def _looks_like_expression(text: str) -> bool:
    return any(scope in text for scope in expressions.SCOPES)


def evaluate_expression(text: str, lookup: Lookup) -> Any:
    try:
        return expressions.evaluate(expressions.parse(text), lookup)
    except expressions.ExpressionError as exc:
        raise ConditionError(f"cannot evaluate {text!r}: {exc}") from None


def _arguments(operator: str, argument: Any) -> list[Any]:
    if not isinstance(argument, list):
        raise ConditionError(f"'{operator}' needs a list of arguments")
    if not argument:
        raise ConditionError(f"'{operator}' needs at least one argument")
    return argument


def _operator(operator: str, argument: Any, lookup: Lookup | None, depth: int) -> bool:
    if operator == "not":
        return not evaluate(argument, lookup, depth=depth)
    if operator == "and":
        return all(evaluate(item, lookup, depth=depth) for item in _arguments(operator, argument))
    if operator == "or":
        return any(evaluate(item, lookup, depth=depth) for item in _arguments(operator, argument))
    if operator == "equal":
        items = _arguments(operator, argument)
        first = _canonical(items[0])
        return all(_canonical(item) == first for item in items[1:])
    return _matches(argument)


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return ("const", value)
    if isinstance(value, int | float):
        return ("nan",) if isinstance(value, float) and math.isnan(value) else ("number", value)
    if isinstance(value, dict):
        return ("map", tuple((str(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_canonical(v) for v in value))
    return ("string", str(value))


def _matches(argument: Any) -> bool:
    if not isinstance(argument, dict) or "pattern" not in argument or "value" not in argument:
        raise ConditionError("'matches' needs a map with 'pattern' and 'value'")
    pattern = str(argument["pattern"])
    if is_slashed(pattern):
        pattern = pattern[1:-1]
    value = argument["value"]
    text = "" if value is None else str(value) if not isinstance(value, bool) else str(value).lower()
    try:
        return compile_pattern(pattern).fullmatch(text) is not None
    except RegexError as exc:
        raise ConditionError(str(exc)) from None


def describe(statement: Any) -> str:
    """A short flow-style rendering of a statement for skip reasons."""
    return statement if isinstance(statement, str) else render(statement)
