"""Checks against CircleCI's published JSON schema. It is stricter than production, so it only warns."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from circlet.compiler.loader import Document
from circlet.compiler.schema_check import Check, SchemaCompiler, SchemaError
from circlet.errors import Problem

MAX_SCHEMA_WARNINGS = 20


@lru_cache(maxsize=1)
def _check() -> Check:
    text = resources.files("circlet.compiler").joinpath("config.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    return SchemaCompiler(schema).compile(schema)


def _deepest(error: SchemaError) -> SchemaError:
    while error.context:
        error = max(error.context, key=lambda e: len(e.path))
    return error


def schema_warnings(doc: Document) -> list[Problem]:
    """Schema violations of the source document as warnings (never errors)."""
    out: list[Problem] = []
    try:
        for error in _check()(doc.data, ()):
            deepest = _deepest(error)
            path: tuple[Any, ...] = deepest.path
            out.append(doc.problem(f"schema: {_short(deepest.message)}", path))
            if len(out) >= MAX_SCHEMA_WARNINGS:
                break
    except (TypeError, ValueError, RecursionError):  # keys or values JSON Schema cannot handle
        out.append(Problem(message="schema: the document could not be checked", file=doc.file))
    return out


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
