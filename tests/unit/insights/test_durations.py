"""Exact nearest-rank statistics, the same from plain Python (small) and numpy (large) paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from circlet.insights.durations import SMALL, pack, rank_index, stats, unpack, whole_seconds


@pytest.mark.parametrize(
    ("count", "percent", "index"),
    [(1, 50, 0), (1, 95, 0), (2, 50, 0), (5, 50, 2), (20, 95, 18), (20, 50, 9), (100, 95, 94), (101, 95, 95)],
)
def test_rank_index_is_nearest_rank(count: int, percent: int, index: int) -> None:
    assert rank_index(count, percent) == index


def test_known_list() -> None:
    result = stats([10 * i for i in range(20, 0, -1)])  # unsorted on purpose
    assert (result.min, result.median, result.p95, result.max) == (10, 100, 190, 200)
    assert (result.mean, result.total, result.count) == (105, 2100, 20)
    assert result.standard_deviation == pytest.approx(10 * math.sqrt(399 / 12))


def test_large_path_matches_small_path() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(1, 5000, size=SMALL * 3)
    big = stats(unpack([pack(int(v) for v in values[:700]), pack(int(v) for v in values[700:])]))
    ordered = sorted(int(v) for v in values)
    n = len(ordered)
    assert big.median == ordered[math.ceil(n * 0.5) - 1]
    assert big.p95 == ordered[math.ceil(n * 0.95) - 1]
    assert (big.min, big.max, big.total) == (ordered[0], ordered[-1], sum(ordered))
    assert big.standard_deviation == pytest.approx(float(np.std(ordered)))


def test_empty() -> None:
    assert stats([]).median is None
    assert stats(unpack([])).count == 0


def test_whole_seconds_rounds_half_up() -> None:
    assert [whole_seconds(x) for x in (0.4, 0.5, 1.5, 2.5, -3.0)] == [0, 1, 2, 3, 0]
