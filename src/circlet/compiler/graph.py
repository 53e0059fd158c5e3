"""The ``requires`` graph of one workflow: names, statuses, cycles and not-run propagation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REQUIRE_STATUSES = ("success", "failed", "canceled", "unauthorized", "not_run")
DEFAULT_STATUSES = ("success",)


class GraphError(ValueError):
    """A requires entry that cannot be read."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``requires`` entry as written: a name (instance or alias) and its accepted statuses."""

    name: str
    statuses: tuple[str, ...] = DEFAULT_STATUSES


def parse_requires(raw: Any) -> list[Requirement]:
    """Read ``requires`` in list, string or mapping-with-statuses form."""
    if raw is None:
        return []
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        return [Requirement(str(raw))]
    if isinstance(raw, dict):
        raw = [{key: value} for key, value in raw.items()]
    if not isinstance(raw, list):
        raise GraphError("requires must be a list of job names")
    out: list[Requirement] = []
    for item in raw:
        if isinstance(item, dict):
            out.extend(Requirement(str(name), _statuses(status)) for name, status in item.items())
        elif item is not None and not isinstance(item, list):
            out.append(Requirement(str(item)))
        else:
            raise GraphError("each requires entry must be a job name or a map of job name to statuses")
    return out


def _statuses(raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        if item == "terminal":
            out.extend(REQUIRE_STATUSES)
        elif item in REQUIRE_STATUSES:
            out.append(str(item))
        else:
            allowed = ", ".join((*REQUIRE_STATUSES, "terminal"))
            raise GraphError(f"requires status must be one of {allowed}; got {item!r}")
    return tuple(dict.fromkeys(out))


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in ``job -> required jobs`` as a list of names (first repeated last), or None."""
    state: dict[str, int] = {}
    for start in edges:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            children = edges.get(node, ())
            if index < len(children):
                stack.append((node, index + 1))
                child = children[index]
                if state.get(child) == 1:
                    return [*path[path.index(child) :], child]
                if not state.get(child):
                    stack.append((child, 0))
            else:
                state[node] = 2
                path.pop()
    return None


def topological(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Names ordered so every job follows the jobs it requires (the graph must be acyclic)."""
    order: list[str] = []
    seen: set[str] = set()
    for start in edges:
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(edges.get(node, ())) if child not in seen)
    return order


def propagate_not_run(
    edges: Mapping[str, Sequence[str]], reasons: dict[str, str | None]
) -> dict[str, str | None]:
    """Mark jobs that require a job that does not run as not running either, saying which one."""
    out = dict(reasons)
    for node in topological(edges):
        if out.get(node) is not None:
            continue
        blocked = [child for child in edges.get(node, ()) if out.get(child) is not None]
        if blocked:
            out[node] = f"it requires '{blocked[0]}', which does not run for this trigger"
    return out
