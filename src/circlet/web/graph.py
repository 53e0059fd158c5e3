"""Lay out a workflow's jobs as columns by depth of ``requires``, with edges as SVG paths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CARD_W = 220  # px
CARD_H = 64  # px
GAP_X = 56  # px
GAP_Y = 20  # px


@dataclass(frozen=True, slots=True)
class Placed:
    name: str
    column: int
    row: int
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    path: str  #: an SVG path from the source's right edge to the target's left edge


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: dict[str, Placed]
    edges: list[Edge]
    width: int
    height: int


def depths(jobs: Sequence[tuple[str, Sequence[str]]]) -> dict[str, int]:
    """Column of each job: 0 for roots, else one past its deepest requirement (unknown names ignored)."""
    requires = {name: [r for r in reqs if r != name] for name, reqs in jobs}
    depth: dict[str, int] = {}

    def visit(name: str, trail: frozenset[str]) -> int:
        if name in depth:
            return depth[name]
        parents = [r for r in requires.get(name, []) if r in requires and r not in trail]
        value = 1 + max((visit(p, trail | {name}) for p in parents), default=-1)
        depth[name] = value
        return value

    for name, _ in jobs:
        visit(name, frozenset())
    return depth


def layout(jobs: Sequence[tuple[str, Sequence[str]]]) -> Layout:
    """Place jobs (in config order within a column) and route one edge per ``requires``."""
    depth = depths(jobs)
    rows: dict[int, int] = {}
    nodes: dict[str, Placed] = {}
    for name, _ in jobs:
        column = depth[name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        nodes[name] = Placed(name, column, row, column * (CARD_W + GAP_X), row * (CARD_H + GAP_Y))
    edges = [
        Edge(parent, name, _curve(nodes[parent], nodes[name]))
        for name, reqs in jobs
        for parent in reqs
        if parent in nodes and parent != name
    ]
    columns = max(depth.values(), default=-1) + 1
    tallest = max(rows.values(), default=0)
    width = max(0, columns * (CARD_W + GAP_X) - GAP_X)
    height = max(0, tallest * (CARD_H + GAP_Y) - GAP_Y)
    return Layout(nodes, edges, width, height)


def _curve(source: Placed, target: Placed) -> str:
    x1, y1 = source.x + CARD_W, source.y + CARD_H // 2
    x2, y2 = target.x, target.y + CARD_H // 2
    bend = max(GAP_X // 2, (x2 - x1) // 2)
    return f"M{x1} {y1} C{x1 + bend} {y1} {x2 - bend} {y2} {x2} {y2}"
