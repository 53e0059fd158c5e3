"""Checks against CircleCI's published JSON schema. It is stricter than production, so it only warns."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator  # type: ignore[import-untyped,unused-ignore]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped,unused-ignore]

from circlet.compiler.loader import Document
from circlet.errors import Problem

MAX_SCHEMA_WARNINGS = 20


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    text = resources.files("circlet.compiler").joinpath("config.schema.json").read_text(encoding="utf-8")
    return Draft7Validator(json.loads(text))


def _deepest(error: ValidationError) -> ValidationError:
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def schema_warnings(doc: Document) -> list[Problem]:
    """Schema violations of the source document as warnings (never errors)."""
    out: list[Problem] = []
    try:
        errors = _validator().iter_errors(doc.data)
        for error in errors:
            deepest = _deepest(error)
            path: tuple[Any, ...] = tuple(deepest.absolute_path)
            out.append(doc.problem(f"schema: {_short(deepest.message)}", path))
            if len(out) >= MAX_SCHEMA_WARNINGS:
                break
    except (TypeError, ValueError, RecursionError):  # keys or values JSON Schema cannot handle
        out.append(Problem(message="schema: the document could not be checked", file=doc.file))
    return out


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
