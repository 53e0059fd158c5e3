"""YAML 1.1 loading into plain data, with line/column marks per YAML path.

Anchors may be redefined (later aliases see the newest definition), ``<<`` merge keys are resolved,
and documents whose aliases would expand past a budget (alias bombs) or nest too deep are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events

from circlet.errors import ConfigInvalid, Problem

MAX_SOURCE_CHARS = 4_000_000  #: characters
MAX_EXPANDED_NODES = 400_000  #: nodes after alias expansion
MAX_DEPTH = 200  #: nesting levels

Path = tuple[str | int, ...]

try:  # the C parser is much faster; the composer below stays in Python to allow redefined anchors
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import Loader as _Parser  # type: ignore[assignment]

_BOOL_TRUE = {"yes", "true", "on"}
_BOOL_WORDS = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+)$")
_SEXAGESIMAL_INT = re.compile(r"^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded YAML document: plain data plus where each path came from."""

    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)  #: path -> (line, column), 1-based
    file: str = ".circleci/config.yml"

    def locate(self, path: Path) -> tuple[int | None, int | None]:
        """Line and column of ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return mark
        return (None, None)

    def problem(self, message: str, path: Path) -> Problem:
        line, column = self.locate(path)
        return Problem(message=message, path=format_path(path), file=self.file, line=line, column=column)


def format_path(path: Path) -> str:
    """``("workflows", "w", "jobs", 2)`` -> ``workflows.w.jobs[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def resolve_scalar(value: str, plain: bool, tag: str | None) -> Any:
    """Resolve a scalar as YAML 1.1 does (booleans, null, ints, floats); quoted scalars stay strings."""
    if tag not in (None, "!"):
        return _construct_tagged(value, tag)
    if not plain or tag == "!":
        return value
    return _resolve_plain(value)


def _resolve_plain(value: str) -> Any:
    if not value:
        return None
    if value[0] not in "-+.0123456789~nNtTfFyYoO":
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
        resolved = _resolve_plain(value)
        if isinstance(resolved, int | float) and not isinstance(resolved, bool):
            return int(resolved) if short == "int" else float(resolved)
    raise _TagError(tag)


class _TagError(Exception):
    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


class _Frame:
    __slots__ = ("anchor", "container", "key", "merges", "path", "size")

    def __init__(self, container: Any, path: Path, anchor: str | None) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.merges: list[dict[Any, Any]] = []
        self.size = 1


_NO_KEY = object()


class _Builder:
    """Turns a YAML event stream into plain data, tracking marks and expansion size."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.marks: dict[Path, tuple[int, int]] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.total = 0
        self.problems: list[Problem] = []

    def fail(self, message: str, mark: Any) -> ConfigInvalid:
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        return ConfigInvalid([Problem(message=message, file=self.file, line=line, column=column)])

    def child_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        key = top.key
        return (*top.path, key if isinstance(key, str | int) and not isinstance(key, bool) else str(key))

    def add_value(self, value: Any, size: int, mark: Any, path: Path) -> None:
        self.total += size
        if self.total > MAX_EXPANDED_NODES:
            raise self.fail(
                f"the document expands to more than {MAX_EXPANDED_NODES} nodes (too many aliases)", mark
            )
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.container, list):
            top.container.append(value)
        elif top.key is _NO_KEY:
            self.start_key(top, value, mark)
        else:
            self.set_item(top, value, mark)

    def start_key(self, top: _Frame, key: Any, mark: Any) -> None:
        if isinstance(key, dict | list):
            raise self.fail("a mapping key must be a scalar", mark)
        top.key = key
        self.marks[
            (*top.path, key if isinstance(key, str | int) and not isinstance(key, bool) else str(key))
        ] = (
            mark.line + 1,
            mark.column + 1,
        )

    def set_item(self, top: _Frame, value: Any, mark: Any) -> None:
        if top.key == "<<" and not isinstance(top.key, _QuotedKey):
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    raise self.fail("a merge key (<<) needs a mapping or a list of mappings", mark)
                top.merges.append(source)
        else:
            top.container[top.key] = value
        top.key = _NO_KEY

    def handle(self, event: Any) -> None:
        if isinstance(event, events.ScalarEvent):
            self.scalar(event)
        elif isinstance(event, events.AliasEvent):
            self.alias(event)
        elif isinstance(event, events.SequenceStartEvent | events.MappingStartEvent):
            self.open(event)
        elif isinstance(event, events.SequenceEndEvent | events.MappingEndEvent):
            self.close(event)

    def scalar(self, event: Any) -> None:
        try:
            plain = not event.style
            value = resolve_scalar(event.value, plain, event.tag)
        except _TagError as exc:
            raise self.fail(f"unsupported YAML tag {exc.tag}", event.start_mark) from None
        top = self.stack[-1] if self.stack else None
        if top is not None and isinstance(top.container, dict) and top.key is _NO_KEY:
            if value == "<<" and not plain:
                value = _QuotedKey(value)
        path = self.child_path()
        if top is None or isinstance(top.container, list) or top.key is not _NO_KEY:
            self.marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self.add_value(value, 1, event.start_mark, path)

    def alias(self, event: Any) -> None:
        found = self.anchors.get(event.anchor)
        if found is None:
            raise self.fail(f"found undefined alias {event.anchor!r}", event.start_mark)
        value, size = found
        self.add_value(value, size, event.start_mark, self.child_path())

    def open(self, event: Any) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise self.fail(f"the document nests deeper than {MAX_DEPTH} levels", event.start_mark)
        path = self.child_path()
        self.marks.setdefault(path, (event.start_mark.line + 1, event.start_mark.column + 1))
        container: Any = [] if isinstance(event, events.SequenceStartEvent) else {}
        frame = _Frame(container, path, event.anchor)
        frame.key = _NO_KEY
        self.stack.append(frame)

    def close(self, event: Any) -> None:
        frame = self.stack.pop()
        value = frame.container
        if frame.merges:
            merged: dict[Any, Any] = {}
            for source in reversed(frame.merges):
                merged.update(source)
            merged.update(value)
            value = merged
            frame.container = value
        if frame.anchor:
            self.anchors[frame.anchor] = (value, frame.size)
        # children were already counted into self.total; only the frame itself is new
        self.total -= frame.size - 1
        self.add_value(value, frame.size, event.start_mark, frame.path)


class _QuotedKey(str):
    """A quoted ``"<<"`` key: a plain key, not a merge."""

    __slots__ = ()


def iter_events(source: str) -> Iterator[Any]:
    parser = _Parser(source)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def load_document(source: str, file: str = ".circleci/config.yml") -> Document:
    """Parse one YAML document into plain data with marks.

    Raises:
        ConfigInvalid: the text is not YAML, too large, nests too deep or expands too far.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise ConfigInvalid([Problem(f"the file is larger than {MAX_SOURCE_CHARS} characters", file=file)])
    builder = _Builder(file)
    documents = 0
    try:
        for event in iter_events(source):
            if isinstance(event, events.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise builder.fail("expected a single YAML document, found several", event.start_mark)
            builder.handle(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise builder.fail(f"invalid YAML: {message}", mark) from None
    except yaml.YAMLError as exc:
        raise ConfigInvalid([Problem(f"invalid YAML: {exc}", file=file)]) from None
    except (RecursionError, MemoryError):
        raise ConfigInvalid([Problem("the YAML document is too complex", file=file)]) from None
    return Document(data=builder.root, marks=builder.marks, file=file)
