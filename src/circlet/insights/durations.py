"""Exact duration statistics from packed int32 arrays (numpy does the selection, not a sort in Python).

Percentiles are nearest-rank: the p-th percentile is the smallest recorded duration such that at least
p % of the runs took at most that long, so it is always a real run's duration, exact at any scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DTYPE = np.dtype("<i4")


def pack(durations_s: Iterable[int]) -> bytes:
    return np.fromiter(durations_s, dtype=DTYPE).tobytes()


def unpack(blobs: Iterable[bytes]) -> npt.NDArray[np.int64]:
    return np.frombuffer(b"".join(blobs), dtype=DTYPE).astype(np.int64)


def rank_index(count: int, percent: int) -> int:
    """0-based index of the nearest-rank ``percent`` percentile among ``count`` sorted values."""
    return max(0, -(-count * percent // 100) - 1)


@dataclass(frozen=True, slots=True)
class DurationStats:
    """Whole seconds except ``standard_deviation`` (population). All None when there are no runs."""

    count: int
    min: int | None
    max: int | None
    mean: int | None
    median: int | None
    p95: int | None
    total: int
    standard_deviation: float | None

    @classmethod
    def empty(cls) -> DurationStats:
        return cls(0, None, None, None, None, None, 0, None)


SMALL = 512  #: below this many values plain Python beats numpy's per-call overhead


def stats(values: npt.NDArray[np.int64] | list[int]) -> DurationStats:
    count = len(values)
    if count == 0:
        return DurationStats.empty()
    if count < SMALL:
        return _small_stats(sorted(int(v) for v in values))
    assert isinstance(values, np.ndarray)
    median_at, p95_at = rank_index(count, 50), rank_index(count, 95)
    picked = np.partition(values, [median_at, p95_at])
    total = int(values.sum())
    return DurationStats(
        count=count,
        min=int(values.min()),
        max=int(values.max()),
        mean=math.floor(total / count + 0.5),
        median=int(picked[median_at]),
        p95=int(picked[p95_at]),
        total=total,
        standard_deviation=float(values.std()),
    )


def float_percentile(values: list[float], percent: int) -> float | None:
    """Nearest-rank percentile of a short list of floats (test run times)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[rank_index(len(ordered), percent)]


def whole_seconds(seconds: float) -> int:
    """Durations are kept in whole seconds, rounded half up (CircleCI reports whole seconds)."""
    return max(0, math.floor(seconds + 0.5))


def _small_stats(ordered: list[int]) -> DurationStats:
    count, total = len(ordered), sum(ordered)
    mean = total / count
    variance = sum((v - mean) ** 2 for v in ordered) / count
    return DurationStats(
        count=count,
        min=ordered[0],
        max=ordered[-1],
        mean=math.floor(mean + 0.5),
        median=ordered[rank_index(count, 50)],
        p95=ordered[rank_index(count, 95)],
        total=total,
        standard_deviation=math.sqrt(variance),
    )
