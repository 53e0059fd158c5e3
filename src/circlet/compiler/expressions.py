"""The expression language of filters, ``when`` and ``<< >>``: ``pipeline.git.branch == "main" and not x``.

Operators (loosest first): ``or``, ``and``, comparisons (``== != starts-with matches >= > <= <``),
``not`` (tightest). ``and``/``or`` short-circuit and return an operand, so ``a and 10 or 1`` acts as if/else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from circlet.compiler.regexes import RegexError, compile_pattern

MAX_EXPRESSION_DEPTH = 100  #: nesting levels

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<regex>/(?:[^/\\]|\\.)+/)
    | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<op>==|!=|>=|<=|>|<|\(|\)|starts-with(?![\w-]))
    | (?P<word>[A-Za-z][A-Za-z0-9_.-]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"==", "!=", ">=", "<=", ">", "<", "starts-with", "matches"}
_KEYWORDS = {"and", "or", "not", "true", "false", "null", "matches"}
SCOPES = ("pipeline.", "parameters.", "matrix.")


class ExpressionError(ValueError):
    """The text is not a valid expression, or it compares values of the wrong types."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  #: string | regex | number | op | word
    text: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected text at {stripped[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.position += 1
        return token

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text == word

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.take().text!r}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.is_word("or"):
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_comparison()
        while self.is_word("and"):
            self.take()
            node = ("and", node, self.parse_comparison())
        return node

    def parse_comparison(self) -> Node:
        node = self.parse_unary()
        token = self.peek()
        if token is not None and token.text in _COMPARISONS and token.kind in ("op", "word"):
            self.take()
            node = ("cmp", token.text, node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.is_word("not"):
            self.take()
            return ("not", self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "op" and token.text == "(":
            self.depth += 1
            if self.depth > MAX_EXPRESSION_DEPTH:
                raise ExpressionError("the expression nests too deeply")
            node = self.parse_or()
            if self.take().text != ")":
                raise ExpressionError("missing ')'")
            self.depth -= 1
            return node
        return _literal(token)


def _literal(token: Token) -> Node:
    if token.kind == "string":
        return ("lit", _unquote(token.text))
    if token.kind == "regex":
        return ("regex", token.text[1:-1].replace("\\/", "/"))
    if token.kind == "number":
        number = float(token.text)
        return ("lit", int(number) if number.is_integer() and "." not in token.text else number)
    if token.kind == "word":
        constants: dict[str, Any] = {"true": True, "false": False, "null": None}
        if token.text in constants:
            return ("lit", constants[token.text])
        if token.text not in _KEYWORDS and token.text.startswith(SCOPES) and ".." not in token.text:
            return ("ref", token.text)
    raise ExpressionError(f"unexpected {token.text!r}")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(text: str) -> Node:
    """Parse an expression into a small tree."""
    return _Parser(tokenize(text)).parse()


def references(node: Node) -> list[str]:
    """Every name the expression reads."""
    if node[0] == "ref":
        return [node[1]]
    found: list[str] = []
    for part in node[1:]:
        if isinstance(part, tuple):
            found.extend(references(part))
    return found


def truthy(value: Any) -> bool:
    """CircleCI truthiness: false, null, 0, NaN and "" are false."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def evaluate(node: Node, lookup: Callable[[str], Any]) -> Any:
    """Evaluate a parsed expression; ``lookup`` returns a named value (None when missing)."""
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "ref":
        return lookup(node[1])
    if kind == "regex":
        raise ExpressionError("a /regex/ can only follow 'matches'")
    if kind == "not":
        return not truthy(evaluate(node[1], lookup))
    if kind == "and":
        left = evaluate(node[1], lookup)
        return evaluate(node[2], lookup) if truthy(left) else left
    if kind == "or":
        left = evaluate(node[1], lookup)
        return left if truthy(left) else evaluate(node[2], lookup)
    return _compare(node[1], node[2], node[3], lookup)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


def _compare(op: str, left_node: Node, right_node: Node, lookup: Callable[[str], Any]) -> bool:
    left = evaluate(left_node, lookup)
    if op == "matches":
        if right_node[0] != "regex":
            raise ExpressionError("'matches' needs a /regex/ on its right")
        if not isinstance(left, str):
            raise ExpressionError(f"'matches' needs a string on its left, got {_type_name(left)}")
        try:
            return compile_pattern(right_node[1]).fullmatch(left) is not None
        except RegexError as exc:
            raise ExpressionError(str(exc)) from None
    right = evaluate(right_node, lookup)
    if op == "==":
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    if op == "starts-with":
        if not isinstance(left, str) or not isinstance(right, str):
            raise ExpressionError("'starts-with' compares strings only")
        return left.startswith(right)
    return _order(op, left, right)


def _order(op: str, left: Any, right: Any) -> bool:
    for value in (left, right):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpressionError(f"'{op}' compares numbers only, got {_type_name(value)}")
    if op == ">=":
        return bool(left >= right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left < right)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__
