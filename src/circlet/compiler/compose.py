"""YAML events -> plain data with line/column marks per YAML path.

An anchor defined twice means its newest definition from then on; ``<<`` merge keys are resolved; a
document whose aliases expand past a node budget or that nests too deep is refused. One loop over the
parser's events keeps the open collection's state in local variables: it runs once per YAML node, and
split into a function per event kind it takes about half as long again.
"""

from __future__ import annotations

from typing import Any

from yaml import events

from circlet.compiler.scalars import RESOLVED_FIRST, TagError, resolve_plain, resolve_scalar
from circlet.errors import ConfigInvalid, Problem

MAX_EXPANDED_NODES = 400_000  #: nodes after alias expansion
MAX_DEPTH = 200  #: nesting levels

Path = tuple[str | int, ...]
Marks = dict[Path, tuple[int, int]]

_SCALAR = events.ScalarEvent
_ALIAS = events.AliasEvent
_SEQUENCE_START = events.SequenceStartEvent
_MAPPING_START = events.MappingStartEvent
_START = (_SEQUENCE_START, _MAPPING_START)
_END = (events.SequenceEndEvent, events.MappingEndEvent)
_DOCUMENT_START = events.DocumentStartEvent
_STREAM_END = events.StreamEndEvent
_NO_KEY = object()
_NO_ROOT = object()


class QuotedKey(str):
    """A quoted ``"<<"`` key: a plain key, not a merge."""

    __slots__ = ()


def path_key(key: Any) -> str | int:
    """A map key as a path part: strings and integers as they are, anything else as text."""
    return key if isinstance(key, str | int) and not isinstance(key, bool) else str(key)


def fail(file: str, message: str, mark: Any) -> ConfigInvalid:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return ConfigInvalid([Problem(message=message, file=file, line=line, column=column)])


class _Frame:
    """An open collection, saved while a nested one is read."""

    __slots__ = ("anchor", "container", "is_map", "key", "merges", "path", "size")

    def __init__(
        self, container: Any, is_map: bool, path: Path, anchor: Any, key: Any, merges: Any, size: int
    ) -> None:
        self.container = container
        self.is_map = is_map
        self.path = path
        self.anchor = anchor
        self.key = key
        self.merges = merges
        self.size = size


def _merge_sources(value: Any, file: str, mark: Any) -> list[dict[Any, Any]]:
    sources = value if isinstance(value, list) else [value]
    for source in sources:
        if not isinstance(source, dict):
            raise fail(file, "a merge key (<<) needs a mapping or a list of mappings", mark)
    return sources


def _merged(container: dict[Any, Any], merges: list[dict[Any, Any]]) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for source in reversed(merges):
        merged.update(source)
    merged.update(container)
    return merged


def compose(parser: Any, file: str, marks: Marks) -> Any:  # noqa: PLR0912, PLR0915 - one hot loop, see the module docstring
    """Read one document from ``parser`` (a PyYAML parser); fills ``marks`` and returns the data.

    Raises:
        ConfigInvalid: several documents, an undefined alias, a bad merge or key, too deep or too large.
        yaml.YAMLError: the text is not YAML.
    """
    get_event = parser.get_event
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    root: Any = _NO_ROOT
    total = 0
    documents = 0
    # the open collection (None at the top level)
    container: Any = None
    is_map = False
    path: Path = ()
    anchor: Any = None
    key: Any = _NO_KEY
    merges: Any = None
    size = 0
    while True:
        event = get_event()
        cls = event.__class__
        if cls is _SCALAR:
            raw = event.value
            style = event.style
            tag = event.tag
            if tag is None and not style:
                value = resolve_plain(raw) if not raw or raw[0] in RESOLVED_FIRST else raw
            else:
                try:
                    value = resolve_scalar(raw, not style, tag)
                except TagError as exc:
                    raise fail(file, f"unsupported YAML tag {exc.tag}", event.start_mark) from None
                if style and value == "<<" and is_map and key is _NO_KEY:
                    value = QuotedKey(value)
            mark = event.start_mark
            if event.anchor:
                anchors[event.anchor] = (value, 1)
            added, located = 1, True
        elif cls is _ALIAS:
            found = anchors.get(event.anchor)
            if found is None:
                raise fail(file, f"found undefined alias {event.anchor!r}", event.start_mark)
            value, added = found
            mark = event.start_mark
            located = False  # an alias has no mark of its own
        elif cls in _START:
            if len(stack) >= MAX_DEPTH:
                raise fail(file, f"the document nests deeper than {MAX_DEPTH} levels", event.start_mark)
            if container is None:
                child: Path = ()
            elif is_map:
                child = (*path, key if key.__class__ is str else path_key(key))
            else:
                child = (*path, len(container))
            start = event.start_mark
            marks.setdefault(child, (start.line + 1, start.column + 1))
            stack.append(_Frame(container, is_map, path, anchor, key, merges, size))
            is_map = cls is _MAPPING_START
            container = {} if is_map else []
            path, anchor, key, merges, size = child, event.anchor, _NO_KEY, None, 1
            continue
        elif cls in _END:
            value = container if merges is None else _merged(container, merges)
            if anchor:
                anchors[anchor] = (value, size)
            added = size
            frame = stack.pop()
            container, is_map, path = frame.container, frame.is_map, frame.path
            anchor, key, merges, size = frame.anchor, frame.key, frame.merges, frame.size
            total -= added - 1  # its children are counted already
            mark = event.start_mark
            located = False  # a collection's mark was set when it opened
        elif cls is _DOCUMENT_START:
            documents += 1
            if documents > 1:
                raise fail(file, "expected a single YAML document, found several", event.start_mark)
            continue
        elif cls is _STREAM_END:
            break
        else:
            continue
        # place the value read above into the open collection
        total += added
        if total > MAX_EXPANDED_NODES:
            raise fail(
                file, f"the document expands to more than {MAX_EXPANDED_NODES} nodes (too many aliases)", mark
            )
        if container is None:
            if located:
                marks[()] = (mark.line + 1, mark.column + 1)
            root = value
            continue
        size += added
        if not is_map:
            if located:
                marks[(*path, len(container))] = (mark.line + 1, mark.column + 1)
            container.append(value)
        elif key is _NO_KEY:
            if isinstance(value, dict | list):
                raise fail(file, "a mapping key must be a scalar", mark)
            key = value
            marks[(*path, key if key.__class__ is str else path_key(key))] = (mark.line + 1, mark.column + 1)
        else:
            if located:
                marks[(*path, key if key.__class__ is str else path_key(key))] = (
                    mark.line + 1,
                    mark.column + 1,
                )
            if key == "<<" and key.__class__ is not QuotedKey:
                if merges is None:
                    merges = []
                merges.extend(_merge_sources(value, file, mark))
            else:
                container[key] = value
            key = _NO_KEY
    return None if root is _NO_ROOT else root
