"""The compiled schema checker agrees with the ``jsonschema`` package (the oracle) on CircleCI's schema."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft7Validator  # type: ignore[import-untyped,unused-ignore]

from circlet.compiler.loader import load_document
from circlet.compiler.schema_check import SchemaCompiler, SchemaError, equal
from tests.unit.compiler.helpers import CORPUS, inject_inline_orbs

SCHEMA = json.loads(resources.files("circlet.compiler").joinpath("config.schema.json").read_text())
ORACLE = Draft7Validator(SCHEMA)
CHECK = SchemaCompiler(SCHEMA).compile(SCHEMA)

HOSTILE = [
    "version: 2.1\njobs:\n  build:\n    docker: [{image: x}]\n    steps: [{checkout: {directory: rover}}]\n",
    "version: 2.3\njobs: {b: {machine: true, steps: [{run: {command: 1, when: sometimes}}]}}\n",
    "version: 2.1\nworkflows:\n  w:\n    jobs: [{b: {requires: 3, filters: {branches: {only: [1]}}}}]\n",
    "version: 2.1\nparameters: {p: {type: nope, default: []}}\nexecutors: {e: {resource_class: huge}}\n",
    "version: 2.1\norbs: {o: 12}\ncommands: {c: {steps: {}}}\njobs: {'bad name!': {steps: []}}\n",
    "- a list\n- at the top\n",
    "version: 2.1\njobs: {b: {docker: [], steps: [{save_cache: {paths: []}}, {unknown_step: 1}], parallelism: -1}}\n",
]


def _flat(errors: Any) -> list[tuple[str, tuple[Any, ...], int]]:
    out = []
    for error in errors:
        path = tuple(error.absolute_path) if hasattr(error, "absolute_path") else error.path
        out.append((error.message, path, len(error.context)))
    return sorted(out, key=repr)


def _deepest(error: Any) -> tuple[str, tuple[Any, ...]]:
    while error.context:
        error = max(
            error.context, key=lambda e: len(e.absolute_path if hasattr(e, "absolute_path") else e.path)
        )
    path = tuple(error.absolute_path) if hasattr(error, "absolute_path") else error.path
    return error.message, path


def _compare(data: Any) -> list[SchemaError]:
    ours: list[SchemaError] = CHECK(data, ())
    theirs = list(ORACLE.iter_errors(data))
    assert _flat(ours) == _flat(theirs)
    assert sorted(map(_deepest, ours), key=repr) == sorted(map(_deepest, theirs), key=repr)
    return ours


@pytest.mark.parametrize("text", HOSTILE)
def test_agrees_with_jsonschema_on_violations(text):
    assert _compare(load_document(text).data)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not mounted")
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yml")), ids=lambda p: p.name[:3])
def test_agrees_with_jsonschema_on_the_corpus(path):
    _compare(load_document(inject_inline_orbs(path.read_text())).data)


def test_json_equality_tells_booleans_from_numbers():
    assert equal([1, {"a": True}], [1, {"a": True}])
    assert not equal(True, 1)
    assert not equal({"a": 0}, {"a": False})
