"""A JSON Schema (draft 7) checker compiled to closures, for the keywords CircleCI's config schema uses.

Each subschema becomes one function ``check(instance, path) -> errors`` built once, so checking walks the
document without re-reading the schema. Errors mirror the ``jsonschema`` package's: the same messages,
absolute paths, and for ``oneOf``/``anyOf`` the branches' errors as ``context``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Path = tuple[Any, ...]


class SchemaError:
    """One violation: where (absolute path in the instance), what, and the branch errors behind it."""

    __slots__ = ("context", "message", "path")

    def __init__(self, message: str, path: Path, context: list[SchemaError] | None = None) -> None:
        self.message = message
        self.path = path
        self.context = context or []


Check = Callable[[Any, Path], list[SchemaError]]
_OK: list[SchemaError] = []  # shared empty result; never appended to

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
}


def equal(one: Any, two: Any) -> bool:
    """JSON equality: ``True`` is not ``1``."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[k], two[k]) for k in one)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    return bool(one == two)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class SchemaCompiler:
    """Compiles a root schema; ``$ref`` targets are compiled once and may be recursive."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self._refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda _instance, _path: _OK
        if schema is False:
            return lambda instance, path: [SchemaError(f"False schema does not allow {instance!r}", path)]
        if "$ref" in schema:  # draft 7: siblings of $ref are ignored
            return self._ref(schema["$ref"])
        checks = [c for key, value in schema.items() if (c := self._keyword(key, value, schema)) is not None]
        if not checks:
            return lambda _instance, _path: _OK
        if len(checks) == 1:
            return checks[0]

        def check_all(instance: Any, path: Path) -> list[SchemaError]:
            errors = _OK
            for check in checks:
                found = check(instance, path)
                if found:
                    errors = found if errors is _OK else [*errors, *found]
            return errors

        return check_all

    def _ref(self, ref: str) -> Check:
        compiled = self._refs.get(ref)
        if compiled is not None:
            return compiled
        target: Any = self.root
        for part in ref.removeprefix("#/").split("/") if ref != "#" else []:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        slot: list[Check] = []

        def deferred(instance: Any, path: Path) -> list[SchemaError]:  # the target may refer to itself
            return slot[0](instance, path)

        self._refs[ref] = deferred
        slot.append(self.compile(target))
        return deferred

    def _keyword(self, key: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
        builder = _BUILDERS.get(key)
        return builder(self, value, schema) if builder is not None else None


def _type(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    names = [value] if isinstance(value, str) else list(value)
    tests = [_TYPES[n] for n in names]
    shown = ", ".join(repr(n) for n in names)

    def check(instance: Any, path: Path) -> list[SchemaError]:
        for test in tests:
            if test(instance):
                return _OK
        return [SchemaError(f"{instance!r} is not of type {shown}", path)]

    return check


def _properties(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    compiled = [(name, c.compile(sub)) for name, sub in value.items()]

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, dict):
            return _OK
        errors = _OK
        for name, sub in compiled:
            if name in instance:
                found = sub(instance[name], (*path, name))
                if found:
                    errors = found if errors is _OK else [*errors, *found]
        return errors

    return check


def _pattern_properties(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    compiled = [(re.compile(pattern), c.compile(sub)) for pattern, sub in value.items()]

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, dict):
            return _OK
        errors = _OK
        for regex, sub in compiled:
            for key, item in instance.items():
                if isinstance(key, str) and regex.search(key):
                    found = sub(item, (*path, key))
                    if found:
                        errors = found if errors is _OK else [*errors, *found]
        return errors

    return check


def _additional_properties(c: SchemaCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    known = frozenset(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    shown_patterns = ", ".join(repr(p) for p in sorted(schema.get("patternProperties", {})))
    sub = c.compile(value) if isinstance(value, dict) else None

    def extras(instance: dict[Any, Any]) -> list[Any]:
        return [
            k
            for k in instance
            if k not in known and not (isinstance(k, str) and any(p.search(k) for p in patterns))
        ]

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, dict):
            return _OK
        extra = extras(instance)
        if not extra:
            return _OK
        if sub is not None:
            errors: list[SchemaError] = []
            for key in extra:
                errors += sub(instance[key], (*path, key))
            return errors or _OK
        if value is not False:
            return _OK
        ordered = sorted(extra, key=str)
        listed = ", ".join(repr(k) for k in ordered)
        if patterns:
            verb = "does" if len(ordered) == 1 else "do"
            return [SchemaError(f"{listed} {verb} not match any of the regexes: {shown_patterns}", path)]
        verb = "was" if len(ordered) == 1 else "were"
        return [SchemaError(f"Additional properties are not allowed ({listed} {verb} unexpected)", path)]

    return check


def _required(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    names = list(value)

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, dict):
            return _OK
        missing = [SchemaError(f"{n!r} is a required property", path) for n in names if n not in instance]
        return missing or _OK

    return check


def _count(kind: type, measure: Callable[[Any], int], low: str, high: str, *, at_least: bool) -> Any:
    def build(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
        def check(instance: Any, path: Path) -> list[SchemaError]:
            if not isinstance(instance, kind) or isinstance(instance, bool):
                return _OK
            size = measure(instance)
            if at_least and size < value:
                return [SchemaError(f"{instance!r} {low if value == 1 else high}", path)]
            if not at_least and size > value:
                return [SchemaError(f"{instance!r} {low if value == 0 else high}", path)]
            return _OK

        return check

    return build


def _items(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    if isinstance(value, list):
        tuple_checks = [c.compile(sub) for sub in value]

        def check_tuple(instance: Any, path: Path) -> list[SchemaError]:
            if not isinstance(instance, list):
                return _OK
            errors: list[SchemaError] = []
            for index, (item, sub) in enumerate(zip(instance, tuple_checks, strict=False)):
                errors += sub(item, (*path, index))
            return errors or _OK

        return check_tuple
    sub = c.compile(value)

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, list):
            return _OK
        errors = _OK
        for index, item in enumerate(instance):
            found = sub(item, (*path, index))
            if found:
                errors = found if errors is _OK else [*errors, *found]
        return errors

    return check


def _enum(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    options = list(value)
    hashable = {o for o in options if isinstance(o, str)}

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if isinstance(instance, str) and instance in hashable:
            return _OK
        if any(equal(instance, o) for o in options):
            return _OK
        return [SchemaError(f"{instance!r} is not one of {options!r}", path)]

    return check


def _const(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    def check(instance: Any, path: Path) -> list[SchemaError]:
        return _OK if equal(instance, value) else [SchemaError(f"{value!r} was expected", path)]

    return check


def _pattern(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    regex = re.compile(value)

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, str) or regex.search(instance):
            return _OK
        return [SchemaError(f"{instance!r} does not match {value!r}", path)]

    return check


def _bound(*, lower: bool) -> Any:
    def build(_c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
        def check(instance: Any, path: Path) -> list[SchemaError]:
            if not _is_num(instance):
                return _OK
            if lower and instance < value:
                return [SchemaError(f"{instance!r} is less than the minimum of {value!r}", path)]
            if not lower and instance > value:
                return [SchemaError(f"{instance!r} is greater than the maximum of {value!r}", path)]
            return _OK

        return check

    return build


def _property_names(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    sub = c.compile(value)

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if not isinstance(instance, dict):
            return _OK
        errors: list[SchemaError] = []
        for key in instance:
            errors += sub(key, path)
        return errors or _OK

    return check


def _one_of(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    branches = [(sub, c.compile(sub)) for sub in value]

    def check(instance: Any, path: Path) -> list[SchemaError]:
        context: list[SchemaError] = []
        for index, (first, branch) in enumerate(branches):
            found = branch(instance, path)
            if not found:
                more = [s for s, b in branches[index + 1 :] if not b(instance, path)]
                if not more:
                    return _OK
                shown = ", ".join(repr(s) for s in [*more, first])
                return [SchemaError(f"{instance!r} is valid under each of {shown}", path)]
            context += found
        return [SchemaError(f"{instance!r} is not valid under any of the given schemas", path, context)]

    return check


def _any_of(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    branches = [c.compile(sub) for sub in value]

    def check(instance: Any, path: Path) -> list[SchemaError]:
        context: list[SchemaError] = []
        for branch in branches:
            found = branch(instance, path)
            if not found:
                return _OK
            context += found
        return [SchemaError(f"{instance!r} is not valid under any of the given schemas", path, context)]

    return check


def _all_of(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    branches = [c.compile(sub) for sub in value]

    def check(instance: Any, path: Path) -> list[SchemaError]:
        errors: list[SchemaError] = []
        for branch in branches:
            errors += branch(instance, path)
        return errors or _OK

    return check


def _not(c: SchemaCompiler, value: Any, _s: Mapping[str, Any]) -> Check:
    sub = c.compile(value)

    def check(instance: Any, path: Path) -> list[SchemaError]:
        if sub(instance, path):
            return _OK
        return [SchemaError(f"{instance!r} should not be valid under {value!r}", path)]

    return check


def _if(c: SchemaCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    condition = c.compile(value)
    then = c.compile(schema["then"]) if "then" in schema else None
    otherwise = c.compile(schema["else"]) if "else" in schema else None

    def check(instance: Any, path: Path) -> list[SchemaError]:
        branch = otherwise if condition(instance, path) else then
        return branch(instance, path) if branch is not None else _OK

    return check


_BUILDERS: dict[str, Callable[[SchemaCompiler, Any, Mapping[str, Any]], Check]] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "required": _required,
    "items": _items,
    "minItems": _count(list, len, "should be non-empty", "is too short", at_least=True),
    "minProperties": _count(
        dict, len, "should be non-empty", "does not have enough properties", at_least=True
    ),
    "maxProperties": _count(dict, len, "is expected to be empty", "has too many properties", at_least=False),
    "minLength": _count(str, len, "should be non-empty", "is too short", at_least=True),
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minimum": _bound(lower=True),
    "maximum": _bound(lower=False),
    "propertyNames": _property_names,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "allOf": _all_of,
    "not": _not,
    "if": _if,
}
