"""``circleci orb pack``: assemble an orb from its source folder (``@orb.yml``, ``commands/``, ``jobs/`` ...)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from circlet.compiler.loader import load_document
from circlet.compiler.process import dump
from circlet.errors import ConfigInvalid, Problem

SECTIONS = ("commands", "jobs", "executors", "examples")
_INCLUDE = re.compile(r"<<\s*include\(([^)]+)\)\s*>>")


def _include(text: str, directory: Path, file: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        target = (directory / match.group(1).strip()).resolve()
        if not target.is_relative_to(directory.resolve()) or not target.is_file():
            raise ConfigInvalid([Problem(f"cannot include {match.group(1).strip()}", file=str(file))])
        return target.read_text(encoding="utf-8")

    return _INCLUDE.sub(replace, text)


def _load(file: Path, directory: Path) -> Any:
    data = load_document(file.read_text(encoding="utf-8"), file=str(file)).data
    return _expand_includes(data, directory, file)


def _expand_includes(value: Any, directory: Path, file: Path) -> Any:
    if isinstance(value, str):
        if "include(" not in value:
            return value
        whole = _INCLUDE.fullmatch(value.strip())
        return _include(value.strip() if whole else value, directory, file)
    if isinstance(value, dict):
        return {key: _expand_includes(item, directory, file) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_includes(item, directory, file) for item in value]
    return value


def pack_orb(directory: Path) -> str:
    """Pack an orb source folder into one orb YAML text.

    ``@orb.yml`` gives the top level; each ``commands/x.yml`` (and jobs, executors, examples) becomes
    element ``x``; ``<<include(file)>>`` is replaced by the file's text (paths relative to ``directory``).

    Raises:
        ConfigInvalid: a file is not valid YAML, or the folder has no ``@orb.yml``.
    """
    top = directory / "@orb.yml"
    if not top.is_file():
        raise ConfigInvalid([Problem("an orb folder needs an @orb.yml file", file=str(top))])
    orb = _load(top, directory) or {}
    if not isinstance(orb, dict):
        raise ConfigInvalid([Problem("@orb.yml must be a YAML map", file=str(top))])
    for section in SECTIONS:
        folder = directory / section
        if not folder.is_dir():
            continue
        elements = dict(orb.get(section) or {})
        for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
            elements[path.stem] = _load(path, directory)
        if elements:
            orb[section] = elements
    return dump(orb)
