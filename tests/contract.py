"""Checks responses against the vendored official CircleCI OpenAPI spec (``spec/``).

Every ``/api/v2`` response a test receives through the ``client`` fixture is validated: its status code
must be one the spec lists for the operation (or covered by ``default``) and its JSON body must match
that response's schema. ``x-nullable``/``nullable`` are honoured.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SPEC_PATH = Path(__file__).resolve().parents[1] / "spec" / "circleci-api-v2.openapi.json"
PREFIX = "/api/v2"

#: Where the live API is known to send null although the spec says otherwise. Each entry: (path, method,
#: status, property path inside the body). Documented in docs/api.md.
ERRATA: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/workflow/{id}/job", "get", "200", ("properties", "items", "items", "properties", "started_at")),
]


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.get("x-nullable") or node.get("nullable"):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def spec() -> dict[str, Any]:
    raw = json.loads(SPEC_PATH.read_text())
    for path, method, status, where in ERRATA:
        node = raw["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        for key in where:
            node = node[key]
        node["x-nullable"] = True
    return _nullable(raw)  # type: ignore[no-any-return]


@cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        "spec", Resource.from_contents(spec(), default_specification=DRAFT7)
    )
    return registry


@cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in spec()["paths"]:
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", template):
            if part.startswith("{"):
                pattern += r"[^/]+/[^/]+/[^/]+" if part == "{project-slug}" else r"[^/]+"
            else:
                pattern += re.escape(part)
        routes.append((re.compile(f"^{pattern}$"), template))
    # literal segments beat parameters: /pipeline/continue before /pipeline/{id}
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
    return routes


def operation_for(path: str) -> str | None:
    for pattern, template in _routes():
        if pattern.match(path):
            return template
    return None


def check_response(response: httpx.Response) -> None:
    """Raise AssertionError when a ``/api/v2`` response does not conform to the spec."""
    path = response.request.url.path
    if not path.startswith(PREFIX):
        return
    template = operation_for(path[len(PREFIX) :])
    method = response.request.method.lower()
    if template is None or method not in spec()["paths"][template]:
        return  # not an operation of the official spec
    responses = spec()["paths"][template][method]["responses"]
    status = str(response.status_code)
    chosen = responses.get(status) or responses.get("default")
    assert chosen is not None, (
        f"{method.upper()} {template}: status {status} is not in the spec ({sorted(responses)})"
    )
    ctype = response.headers.get("content-type", "")
    assert ctype.startswith("application/json"), f"{method.upper()} {path}: body is {ctype!r}, not JSON"
    content = chosen.get("content", {}).get("application/json")
    if content is None or "schema" not in content:
        return
    pointer = "/".join(
        [
            "paths",
            template.replace("~", "~0").replace("/", "~1"),
            method,
            "responses",
            status if status in responses else "default",
            "content",
            "application~1json",
            "schema",
        ]
    )
    validator = Draft7Validator({"$ref": f"spec#/{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path} ({status}) violates the spec: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
    )


def schema_copy(template: str, method: str, status: str) -> dict[str, Any]:
    return copy.deepcopy(
        spec()["paths"][template][method]["responses"][status]["content"]["application/json"]["schema"]
    )
