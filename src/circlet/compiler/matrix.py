"""Matrix jobs: the Cartesian product of parameter values, exclusions and instance names."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from circlet.compiler.interpolate import render

MAX_INSTANCES = 1000  #: per matrix


class MatrixError(ValueError):
    """A matrix that cannot be expanded."""


@dataclass(frozen=True, slots=True)
class Matrix:
    combinations: tuple[dict[str, Any], ...]
    alias: str | None  #: None: the job name is the alias


def expand(raw: Any) -> Matrix:
    """Read ``matrix: {parameters, exclude?, alias?}``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("parameters"), dict) or not raw["parameters"]:
        raise MatrixError("matrix needs a non-empty 'parameters' map of name to list of values")
    parameters: dict[str, Any] = raw["parameters"]
    names = list(parameters)
    columns = []
    for name in names:
        values = parameters[name]
        if not isinstance(values, list) or not values:
            raise MatrixError(f"matrix parameter '{name}' needs a non-empty list of values")
        columns.append(values)
    total = 1
    for column in columns:
        total *= len(column)
    if total > MAX_INSTANCES:
        raise MatrixError(f"matrix expands to {total} jobs; the limit is {MAX_INSTANCES}")
    excluded = _exclusions(raw.get("exclude"))
    combinations = []
    for values in itertools.product(*columns):
        combination = dict(zip(names, values, strict=True))
        if _key(combination) not in excluded:
            combinations.append(combination)
    alias = raw.get("alias")
    return Matrix(combinations=tuple(combinations), alias=None if alias is None else str(alias))


def _exclusions(raw: Any) -> set[tuple[tuple[str, str], ...]]:
    if raw is None:
        return set()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise MatrixError("matrix exclude must be a list of maps")
    return {_key(item) for item in raw}


def _key(combination: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), render(v)) for k, v in combination.items()))


def instance_name(job: str, combination: dict[str, Any]) -> str:
    """CircleCI's default name: the job name, then each value ordered by parameter name."""
    return "-".join([job, *(render(combination[name]) for name in sorted(combination))])
