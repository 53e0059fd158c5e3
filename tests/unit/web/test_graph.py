"""Workflow graph layout: columns by depth of requires, one edge per requirement."""

from __future__ import annotations

from circlet.web.graph import CARD_H, CARD_W, GAP_X, GAP_Y, depths, layout


def test_depth_is_one_past_the_deepest_requirement() -> None:
    jobs = [("build", []), ("lint", []), ("test", ["build"]), ("deploy", ["test", "lint"])]
    assert depths(jobs) == {"build": 0, "lint": 0, "test": 1, "deploy": 2}


def test_unknown_and_self_requirements_are_ignored() -> None:
    assert depths([("a", ["missing", "a"])]) == {"a": 0}


def test_layout_places_columns_and_rows() -> None:
    result = layout([("build", []), ("lint", []), ("test", ["build"])])
    assert (result.nodes["build"].x, result.nodes["build"].y) == (0, 0)
    assert (result.nodes["lint"].x, result.nodes["lint"].y) == (0, CARD_H + GAP_Y)
    assert (result.nodes["test"].x, result.nodes["test"].y) == (CARD_W + GAP_X, 0)
    assert result.width == 2 * CARD_W + GAP_X
    assert result.height == 2 * CARD_H + GAP_Y


def test_edges_run_from_the_source_right_edge_to_the_target_left_edge() -> None:
    result = layout([("build", []), ("test", ["build"])])
    (edge,) = result.edges
    assert (edge.source, edge.target) == ("build", "test")
    assert edge.path.startswith(f"M{CARD_W} {CARD_H // 2} C")
    assert edge.path.endswith(f"{CARD_W + GAP_X} {CARD_H // 2}")


def test_empty_workflow() -> None:
    result = layout([])
    assert (result.width, result.height, result.edges) == (0, 0, [])
