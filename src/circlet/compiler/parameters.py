"""Parameter declarations (pipeline, job, command, executor) and binding arguments to them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ELEMENT_TYPES = frozenset({"string", "boolean", "integer", "enum", "executor", "steps", "env_var_name"})
PIPELINE_TYPES = frozenset({"string", "boolean", "integer", "enum"})
_ENV_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NO_DEFAULT = object()


@dataclass(frozen=True, slots=True)
class ParamDecl:
    """One declared parameter."""

    name: str
    type: str
    default: Any = _NO_DEFAULT
    enum: tuple[Any, ...] = ()
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if not self.required:
            out["default"] = self.default
        if self.enum:
            out["enum"] = list(self.enum)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class ParamError:
    """A problem found while declaring or binding; ``key`` is the offending parameter or argument."""

    message: str
    key: str | None = None


def parse_declarations(raw: Any, *, pipeline: bool = False) -> tuple[dict[str, ParamDecl], list[ParamError]]:
    """Read a ``parameters:`` map. Returns the declarations and the problems found."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [ParamError("parameters must be a map of name to declaration")]
    allowed = PIPELINE_TYPES if pipeline else ELEMENT_TYPES
    decls: dict[str, ParamDecl] = {}
    errors: list[ParamError] = []
    for name, spec in raw.items():
        decl, error = _declaration(str(name), spec, allowed)
        if error is not None:
            errors.append(ParamError(error, str(name)))
        if decl is not None:
            decls[str(name)] = decl
    return decls, errors


def _declaration(name: str, spec: Any, allowed: frozenset[str]) -> tuple[ParamDecl | None, str | None]:
    if not isinstance(spec, dict):
        return None, f"parameter '{name}' must be a map with a 'type'"
    kind = spec.get("type")
    if kind not in allowed:
        return None, f"parameter '{name}' has type {kind!r}; expected one of: {', '.join(sorted(allowed))}"
    enum = spec.get("enum") or []
    if kind == "enum" and (not isinstance(enum, list) or not enum):
        return None, f"enum parameter '{name}' needs a non-empty 'enum' list"
    decl = ParamDecl(
        name=name,
        type=str(kind),
        default=spec["default"] if "default" in spec else _NO_DEFAULT,
        enum=tuple(enum) if isinstance(enum, list) else (),
        description=str(spec.get("description") or ""),
    )
    if not decl.required and decl.default is not None:
        _, error = check_value(decl, decl.default)
        if error is not None:
            return decl, f"default of parameter '{name}' is invalid: {error}"
    return decl, None


def check_value(decl: ParamDecl, value: Any, *, coerce_strings: bool = False) -> tuple[Any, str | None]:
    """Type-check one value. Returns (value as used, error or None)."""
    kind = decl.type
    if coerce_strings and isinstance(value, str):
        value = _coerce(kind, value)
    if kind in ("string", "env_var_name"):
        return _check_text(decl, value)
    if kind == "boolean":
        return (value, None) if isinstance(value, bool) else (value, _type_error(decl, value))
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return value, _type_error(decl, value)
    if kind == "enum":
        if any(_render(value) == _render(option) for option in decl.enum):
            return value, None
        options = ", ".join(_render(option) for option in decl.enum)
        return value, f"argument '{decl.name}' must be one of [{options}], got {_render(value)!r}"
    if kind == "steps":
        if value is None:
            return [], None
        return (value, None) if isinstance(value, list) else (value, _type_error(decl, value))
    if kind == "executor":
        if isinstance(value, str) or (isinstance(value, dict) and "name" in value):
            return value, None
        return value, _type_error(decl, value)
    return value, None


def _check_text(decl: ParamDecl, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or isinstance(value, dict | list):
        return value, _type_error(decl, value)
    text = "" if value is None else str(value)
    if decl.type == "env_var_name" and text and not _ENV_VAR_NAME.match(text):
        return value, f"argument '{decl.name}' must be an environment variable name, got {text!r}"
    return text, None


def _coerce(kind: str, value: str) -> Any:
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "integer" and re.fullmatch(r"[-+]?\d+", value.strip()):
        return int(value)
    return value


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _type_error(decl: ParamDecl, value: Any) -> str:
    return f"argument '{decl.name}' expects type {decl.type}, got {_kind(value)} {_render(value)!r}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "null" if value is None else "string"


def bind_arguments(
    decls: Mapping[str, ParamDecl], args: Mapping[str, Any], *, coerce_strings: bool = False
) -> tuple[dict[str, Any], list[ParamError]]:
    """Check arguments against declarations and fill defaults.

    Returns the bound values and problems: ``Unexpected argument(s)``, ``Missing required argument(s)``,
    and type errors.
    """
    errors: list[ParamError] = []
    unexpected = [str(key) for key in args if key not in decls]
    if unexpected:
        errors.append(ParamError(f"Unexpected argument(s): {', '.join(unexpected)}", unexpected[0]))
    bound: dict[str, Any] = {}
    missing: list[str] = []
    for name, decl in decls.items():
        if name in args:
            value, error = check_value(decl, args[name], coerce_strings=coerce_strings)
            if error is not None:
                errors.append(ParamError(error, name))
            bound[name] = value
        elif decl.required:
            missing.append(name)
        else:
            bound[name] = [] if decl.type == "steps" and decl.default is None else decl.default
    if missing:
        errors.append(ParamError(f"Missing required argument(s): {', '.join(missing)}"))
    return bound, errors
