"""A block-style YAML writer for the processed config: the text PyYAML's dumper writes, without nodes.

It covers what expanded configs hold: maps and lists (each object once), strings (other than ASCII
text, line feeds and spaces, characters are written escaped between double quotes, as the dumper does
without ``allow_unicode``), integers, booleans and null, with the dumper's settings (indent 2, lists inside maps not
indented, multi-line strings as ``|`` literals, no line folding). For anything else (floats, carriage
returns and other line separators, a key that needs the ``?`` form, an object met twice, which PyYAML writes as an alias)
:func:`emit` returns None and the caller uses PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
_INDICATORS_FIRST = frozenset("#,[]{}&*!|>'\"%@`")
_MAX_SIMPLE_KEY = 128  #: longer keys take the ``?`` form
_MAX_LENGTH = 60_000  #: longer strings may be folded by the dumper
_CACHE_SIZE = 65_536
_MAX_BYTE, _MAX_BMP = 0xFF, 0xFFFF  #: escapes: \\xFF, \\uFFFF, then \\U0010FFFF
_UNSUPPORTED = frozenset("\r\x85\u2028\u2029\ufeff")  #: breaks PyYAML and libyaml count differently
_ESCAPES = {
    "\0": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\xa0": "\\_",
}
_SCALARS: dict[tuple[str, bool], Any] = {}  #: (text, is key) -> its rendering, see _render


class Unsupported(Exception):
    """The data holds something this writer leaves to PyYAML."""


def _analyze(text: str) -> tuple[bool, bool, bool, bool]:
    """(block plain allowed, single quotes allowed, literal allowed, multi-line), as PyYAML's emitter
    decides them."""
    if not text:
        return (False, True, False, False)
    block_indicators = text.startswith(("---", "..."))
    line_breaks = space_break = break_space = special = False
    previous_space = previous_break = False
    last = len(text) - 1
    preceded_by_space = True
    for index, ch in enumerate(text):
        if not (" " <= ch <= "~" or ch == "\n"):
            if ch in _UNSUPPORTED or "\ud800" <= ch <= "\udfff":
                raise Unsupported(text)
            special = True  # written escaped, so only between double quotes
        followed_by_space = index == last or text[index + 1] in " \n"
        if index == 0:
            if ch in _INDICATORS_FIRST or (ch in "?:-" and followed_by_space):
                block_indicators = True
        elif (ch == ":" and followed_by_space) or (ch == "#" and preceded_by_space):
            block_indicators = True
        if ch == " ":
            if previous_break:
                break_space = True
            previous_space, previous_break = True, False
        elif ch == "\n":
            line_breaks = True
            if previous_space:
                space_break = True
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_space = ch in " \n"
    edge_space = text[0] in " \n" or text[-1] in " \n"
    plain = not (edge_space or line_breaks or block_indicators or break_space or space_break or special)
    single = not (break_space or space_break or special)
    literal = text[-1] != " " and not (space_break or special)
    return (plain, single, literal, line_breaks)


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if code <= _MAX_BYTE:
        return f"\\x{code:02X}"
    if code <= _MAX_BMP:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def _double_quoted(text: str) -> str:
    out = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else _escape(ch) for ch in text)
    return f'"{out}"'


def _render(text: str, key: bool) -> Any:
    """A string as the dumper writes it: its text, or (header, lines) for a ``|`` literal."""
    plain, single, literal, multiline = _analyze(text)
    if key and (multiline or not text or len(text.encode()) >= _MAX_SIMPLE_KEY):
        raise Unsupported(text)
    if "\n" in text and not key:
        if not literal:
            return _double_quoted(text)
        header = "|2" if text[0] in " \n" else "|"
        if not text.endswith("\n"):
            header += "-"
        elif text == "\n" or text.endswith("\n\n"):
            raise Unsupported(text)  # "keep" chomping also changes how the document ends
        return (header, text.removesuffix("\n").split("\n"))
    if plain and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG:  # type: ignore[no-untyped-call]
        return text
    if single:
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


def clear_cache() -> None:
    """Forget the remembered string renderings."""
    _SCALARS.clear()


def _scalar(value: Any, key: bool) -> Any:
    kind = type(value)
    if kind is str:
        if len(value) > _MAX_LENGTH:
            raise Unsupported(value)
        cached = _SCALARS.get((value, key))
        if cached is None:
            if len(_SCALARS) >= _CACHE_SIZE:
                _SCALARS.clear()
            cached = _SCALARS[(value, key)] = _render(value, key)
        return cached
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    raise Unsupported(value)


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.seen: set[int] = set()

    def track(self, value: Any, shared: bool) -> None:
        if shared:
            if id(value) in self.seen:
                raise Unsupported("an object met twice")
            self.seen.add(id(value))

    def value(self, value: Any, column: int, shared: bool) -> None:
        """Write a value that follows ``key:`` or ``- `` on the current line."""
        kind = type(value)
        if kind is Unshared:
            kind, shared = dict, False
        if kind is dict or kind is list:
            self.track(value, shared)
            if not value:
                self.parts.append(" {}\n" if kind is dict else " []\n")
            elif kind is dict:
                self.parts.append("\n")
                self.mapping(value, column + 2, shared)
            else:
                self.parts.append("\n")
                self.sequence(value, column, shared)
            return
        self.scalar(value, column)

    def scalar(self, value: Any, column: int) -> None:
        rendered = _scalar(value, False)
        if type(rendered) is str:
            self.parts.append(f" {rendered}\n")
            return
        header, lines = rendered
        indent = " " * (column + 2)
        body = "\n".join(indent + line if line else "" for line in lines)
        self.parts.append(f" {header}\n{body}\n")

    def mapping(self, data: dict[Any, Any], column: int, shared: bool, first: bool = False) -> None:
        indent = " " * column
        parts = self.parts
        for key, item in data.items():
            parts.append(("" if first else indent) + _scalar(key, True) + ":")
            first = False
            if type(item) is list and item:  # a list inside a map is not indented
                self.track(item, shared)
                parts.append("\n")
                self.sequence(item, column, shared)
            else:
                self.value(item, column, shared)

    def sequence(self, data: list[Any], column: int, shared: bool, first: bool = False) -> None:
        indent = " " * column
        parts = self.parts
        for item in data:
            parts.append("-" if first else indent + "-")
            first = False
            kind = type(item)
            if (kind is dict or kind is Unshared) and item:
                self.track(item, shared and kind is dict)
                parts.append(" ")
                self.mapping(item, column + 2, shared and kind is dict, first=True)
            elif kind is list and item:
                self.track(item, shared)
                parts.append(" ")
                self.sequence(item, column + 2, shared, first=True)
            else:
                self.value(item, column, shared)


class Unshared(dict[Any, Any]):
    """A map whose objects are written out wherever they occur, never as ``&id``/``*id`` aliases.

    Expanded jobs share unchanged parts with each other; what they print must not depend on that.
    """

    __slots__ = ()


def emit(data: dict[Any, Any]) -> str | None:
    """The block-style text of a non-empty map, or None when PyYAML must write it."""
    writer = _Writer()
    try:
        writer.mapping(data, 0, True)
    except Unsupported:
        return None
    return "".join(writer.parts)
