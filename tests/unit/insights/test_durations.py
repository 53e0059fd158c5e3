"""Exact nearest-rank statistics, the same from plain Python (small) and numpy (large) paths."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from circlet.insights.durations import (
    SMALL,
    DurationStats,
    compact,
    grouped_stats,
    histogram_stats,
    pack,
    pack_histogram,
    rank_index,
    stats,
    unpack,
    whole_seconds,
)


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


@pytest.mark.parametrize("size", [1, 7, 300, 2_000])
def test_merged_histograms_give_the_same_figures_as_every_duration(size: int) -> None:
    rng = random.Random(size)
    values = [rng.randint(0, 900) for _ in range(size)]
    third = size // 3
    blobs = [pack_histogram(values[:third]), compact(pack_histogram(values[third : 2 * third]) * 2)]
    merged = histogram_stats(blobs, values[2 * third :])
    every = values + values[third : 2 * third]
    expected = stats(np.asarray(every, dtype=np.int64) if len(every) >= SMALL else every)
    assert merged.standard_deviation == pytest.approx(expected.standard_deviation)
    assert replace(merged, standard_deviation=0.0) == replace(expected, standard_deviation=0.0)


def test_grouped_stats_equal_one_group_at_a_time() -> None:
    rng = random.Random(11)
    groups = []
    for _ in range(400):
        blobs = [
            pack_histogram(rng.randint(1, 900) for _ in range(rng.randint(0, 60)))
            for _ in range(rng.choice([0, 1, 1, 2, 6]))
        ]
        groups.append((blobs, [rng.randint(1, 900) for _ in range(rng.choice([0, 0, 4]))]))
    groups.append(([pack_histogram(range(1, 2000))], []))  # a large group beside the small ones
    assert grouped_stats(groups) == [histogram_stats(blobs, singles) for blobs, singles in groups]
    assert grouped_stats([]) == []
    assert grouped_stats([([], []), ([b""], [])]) == [DurationStats.empty()] * 2


def test_compact_merges_repeated_durations() -> None:
    merged = pack_histogram([5, 7, 7]) + pack_histogram([3, 7, 9])
    assert compact(merged) == pack_histogram([3, 5, 7, 7, 7, 9])
    assert compact(pack_histogram([1, 2, 2])) == pack_histogram([1, 2, 2])
