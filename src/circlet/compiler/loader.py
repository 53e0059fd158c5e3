"""YAML 1.1 loading into plain data, with line/column marks per YAML path.

Anchors may be redefined (later aliases see the newest definition), ``<<`` merge keys are resolved,
and documents whose aliases would expand past a budget (alias bombs) or nest too deep are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from circlet.compiler.compose import MAX_DEPTH, MAX_EXPANDED_NODES, Marks, Path, compose, fail
from circlet.errors import ConfigInvalid, Problem

MAX_SOURCE_CHARS = 4_000_000  #: characters

try:  # the C parser is much faster; the composer (compose.py) stays in Python to allow redefined anchors
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import Loader as _Parser  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded YAML document: plain data plus where each path came from."""

    data: Any
    marks: Marks = field(default_factory=dict)  #: path -> (line, column), 1-based
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


def first_path(value: Any, needle: str, path: Path = ()) -> Path:
    """The path of the first string in ``value`` that contains ``needle`` (``()`` when none does)."""
    if isinstance(value, str):
        return path if needle in value else ()
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = first_path(item, needle, (*path, key))
        if found:
            return found
    return ()


def format_path(path: Path) -> str:
    """``("workflows", "w", "jobs", 2)`` -> ``workflows.w.jobs[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_document(source: str, file: str = ".circleci/config.yml") -> Document:
    """Parse one YAML document into plain data with marks.

    Raises:
        ConfigInvalid: the text is not YAML, too large, nests too deep or expands too far.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise ConfigInvalid([Problem(f"the file is larger than {MAX_SOURCE_CHARS} characters", file=file)])
    marks: Marks = {}
    parser = None
    try:
        parser = _Parser(source)
        data = compose(parser, file, marks)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise fail(file, f"invalid YAML: {message}", mark) from None
    except yaml.YAMLError as exc:
        raise ConfigInvalid([Problem(f"invalid YAML: {exc}", file=file)]) from None
    except (RecursionError, MemoryError):
        raise ConfigInvalid([Problem("the YAML document is too complex", file=file)]) from None
    finally:
        if parser is not None:
            parser.dispose()
    return Document(data=data, marks=marks, file=file)


__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "Document",
    "Path",
    "first_path",
    "format_path",
    "load_document",
]
