"""The trigger form's pipeline parameters: fields from the config's declarations, typed values back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from circlet.compiler import declared_parameters
from circlet.errors import ConfigInvalid

FIELD_PREFIX = "param."


@dataclass(frozen=True, slots=True)
class ParamField:
    name: str
    type: str  #: string | boolean | integer | enum
    default: Any = None
    required: bool = False
    enum: tuple[str, ...] = ()
    description: str = ""

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name


@dataclass(frozen=True, slots=True)
class ParsedParams:
    values: dict[str, Any] = field(default_factory=dict)  #: only the values that differ from defaults
    errors: dict[str, str] = field(default_factory=dict)  #: parameter name -> message


def fields_for(config_source: str | None) -> tuple[list[ParamField], str | None]:
    """Form fields for a config's pipeline parameters, and a problem reading them (if any)."""
    if not config_source:
        return [], None
    try:
        decls = declared_parameters(config_source)
    except ConfigInvalid as exc:
        return [], exc.message
    return [_field(name, decl) for name, decl in decls.items()], None


def _field(name: str, decl: Mapping[str, Any]) -> ParamField:
    return ParamField(
        name=name,
        type=str(decl.get("type", "string")),
        default=decl.get("default"),
        required="default" not in decl,
        enum=tuple(str(v) for v in decl.get("enum", ())),
        description=str(decl.get("description", "")),
    )


def parse(fields: Sequence[ParamField], form: Mapping[str, Sequence[str]]) -> ParsedParams:
    """Typed values from submitted form fields (a checkbox posts its hidden ``false`` then ``true``)."""
    parsed = ParsedParams()
    for f in fields:
        raw = list(form.get(f.input_name, ()))
        try:
            value = _convert(f, raw)
        except ValueError as exc:
            parsed.errors[f.name] = str(exc)
            continue
        if value is None:
            if f.required:
                parsed.errors[f.name] = "A value is required."
            continue
        if f.required or value != f.default:
            parsed.values[f.name] = value
    return parsed


def _convert(f: ParamField, raw: list[str]) -> Any:
    if f.type == "boolean":
        return bool(raw) and raw[-1] == "true"
    text = raw[-1].strip() if raw else ""
    if f.type == "integer":
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError("Enter a whole number.") from None
    if f.type == "enum":
        if text not in f.enum:
            raise ValueError(f"Choose one of: {', '.join(f.enum)}.")
        return text
    return raw[-1] if text else None
