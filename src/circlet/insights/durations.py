"""Exact duration statistics from histograms of whole-second durations.

A rollup row keeps its successful runs' durations as a histogram: packed little-endian int32 pairs
``(duration_s, count)``. Because durations are whole seconds, merging the histograms of a window gives
the same nearest-rank percentiles, min, max, sum and population standard deviation (from count, sum and
sum of squares, in exact integers) as reading every run.

Percentiles are nearest-rank: the p-th percentile is the smallest recorded duration such that at least
p % of the runs took at most that long, so it is always a real run's duration, exact at any scale.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy (~16 MB) is imported where a large window needs it, not at server start
    import numpy as np
    import numpy.typing as npt

DTYPE = "<i4"  #: the packed format: little-endian int32 (a numpy dtype string)
PAIR_BYTES = 8  #: one packed (duration, count) pair


def pack(durations_s: Iterable[int]) -> bytes:
    flat = array("i", durations_s)
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes()


def unpack(blobs: Iterable[bytes]) -> npt.NDArray[np.int64]:
    import numpy as np

    return np.frombuffer(b"".join(blobs), dtype=DTYPE).astype(np.int64)


def pack_histogram(durations_s: Iterable[int]) -> bytes:
    """A histogram of whole-second durations: ``(duration, count)`` int32 pairs, by duration."""
    return pack_pairs(sorted(Counter(durations_s).items()))


def pack_pairs(pairs: Iterable[tuple[int, int]]) -> bytes:
    """``(duration, count)`` pairs as a packed histogram (readers do not need them sorted)."""
    flat = array("i", [x for pair in pairs for x in pair])
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes()


def pack_listed(listed: str) -> bytes:
    """Comma-separated durations (as SQL's ``string_agg``/``group_concat`` gives them) as a packed
    histogram of ``(duration, 1)`` pairs."""
    flat = array("i", [1]) * (2 * (listed.count(",") + 1))
    flat[0::2] = array("i", map(int, listed.split(",")))
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes()


def _ints(blob: bytes) -> array[int]:
    flat = array("i")
    flat.frombytes(blob)
    if sys.byteorder == "big":
        flat.byteswap()
    return flat


def compact(blob: bytes) -> bytes:
    """The same histogram with each duration once (appended histograms may repeat durations).

    Plain Python (no numpy): it runs on the recording path, once per touched rollup row.
    """
    flat = _ints(blob)
    values = flat[0::2]
    if all(a < b for a, b in pairwise(values)):
        return blob
    counts: dict[int, int] = {}
    for value, count in zip(values, flat[1::2], strict=True):
        counts[value] = counts.get(value, 0) + count
    return pack_pairs(sorted(counts.items()))


def histogram_stats(blobs: Iterable[bytes], extra: Iterable[int] = ()) -> DurationStats:
    """Exact statistics of the runs in histograms ``blobs`` plus single durations ``extra``."""
    joined = b"".join(blobs)
    singles_list = list(extra)
    if len(joined) // PAIR_BYTES + len(singles_list) < SMALL:
        flat = _ints(joined)
        return _small_histogram_stats(
            [*zip(flat[::2], flat[1::2], strict=True), *((v, 1) for v in singles_list)]
        )
    import numpy as np

    pairs = np.frombuffer(joined, dtype=DTYPE).reshape(-1, 2).astype(np.int64)
    singles = np.asarray(singles_list, dtype=np.int64)
    values = np.concatenate([pairs[:, 0], singles])
    counts = np.concatenate([pairs[:, 1], np.ones(len(singles), dtype=np.int64)])
    if len(values) == 0:
        return DurationStats.empty()
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    running = np.cumsum(counts)
    count = int(running[-1])
    if count == 0:
        return DurationStats.empty()
    total = int((values * counts).sum())
    squares = _sum_of_squares(values, counts, count)
    median_at, p95_at = rank_index(count, 50), rank_index(count, 95)
    at = np.searchsorted(running, [median_at + 1, p95_at + 1], side="left")
    return DurationStats(
        count=count,
        min=int(values[0]),
        max=int(values[-1]),
        mean=math.floor(total / count + 0.5),
        median=int(values[at[0]]),
        p95=int(values[at[1]]),
        total=total,
        standard_deviation=math.sqrt(max(0, count * squares - total * total) / (count * count)),
    )


def _small_histogram_stats(pairs: list[tuple[int, int]]) -> DurationStats:
    """Plain Python for a few hundred pairs (numpy's per-call overhead dominates there)."""
    pairs.sort()
    count = total = squares = 0
    for value, c in pairs:
        count += c
        total += value * c
        squares += value * value * c
    if count == 0:
        return DurationStats.empty()
    median_at, p95_at = rank_index(count, 50), rank_index(count, 95)
    median = p95 = pairs[-1][0]
    seen, found_median = 0, False
    for value, c in pairs:
        seen += c
        if not found_median and seen > median_at:
            median, found_median = value, True
        if seen > p95_at:
            p95 = value
            break
    return DurationStats(
        count=count,
        min=pairs[0][0],
        max=pairs[-1][0],
        mean=math.floor(total / count + 0.5),
        median=median,
        p95=p95,
        total=total,
        standard_deviation=math.sqrt(max(0, count * squares - total * total) / (count * count)),
    )


def _sum_of_squares(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], count: int) -> int:
    """Exact: int64 when it cannot overflow (values under 2**20 s, fewer than 2**23 runs), else Python ints."""
    if int(values[-1]) < 2**20 and count < 2**23:
        return int((values * values).dot(counts))
    return sum(int(v) * int(v) * int(c) for v, c in zip(values, counts, strict=True))


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
        return _EMPTY  # frozen, so one instance serves every empty group


_EMPTY = DurationStats(0, None, None, None, None, None, 0, None)


SMALL = 512  #: below this many values plain Python beats numpy's per-call overhead


def stats(values: npt.NDArray[np.int64] | list[int]) -> DurationStats:
    count = len(values)
    if count == 0:
        return DurationStats.empty()
    if count < SMALL:
        return _small_stats(sorted(int(v) for v in values))
    import numpy as np

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


def grouped_stats(groups: Sequence[tuple[Sequence[bytes], Sequence[int]]]) -> list[DurationStats]:
    """``histogram_stats`` of many groups (histograms, single durations) at once.

    One sort and a few array passes over every pair of every group, instead of a Python loop per group:
    the pages summary computes ~1,000 (workflow, branch) groups per window.
    """
    import numpy as np

    blobs: list[bytes] = []
    pair_groups: list[int] = []
    pair_counts: list[int] = []
    for index, (group_blobs, singles) in enumerate(groups):
        for blob in group_blobs:
            blobs.append(blob)
            pair_groups.append(index)
            pair_counts.append(len(blob) // PAIR_BYTES)
        if singles:
            blobs.append(np.asarray([(v, 1) for v in singles], dtype=DTYPE).tobytes())
            pair_groups.append(index)
            pair_counts.append(len(singles))
    pairs = np.frombuffer(b"".join(blobs), dtype=DTYPE).reshape(-1, 2).astype(np.int64)
    if len(pairs) == 0:
        return [DurationStats.empty() for _ in groups]
    gid = np.repeat(np.asarray(pair_groups, dtype=np.int64), np.asarray(pair_counts, dtype=np.int64))
    # by group, then duration (durations are int32, >= 0); "stable" is timsort here, and every
    # histogram is already a sorted run
    order = np.argsort((gid << 31) | pairs[:, 0], kind="stable")
    values, counts, gid = pairs[order, 0], pairs[order, 1], gid[order]
    running = np.cumsum(counts)
    starts = np.searchsorted(gid, np.arange(len(groups)), side="left")
    stops = np.searchsorted(gid, np.arange(len(groups)), side="right")
    n = _segment_sums(running, starts, stops)
    base = _segment_sums(running, starts * 0, starts)  # runs of the groups before each group
    totals = _segment_sums(np.cumsum(values * counts), starts, stops)
    squares_exact = int(values.max()) < 2**20 and int(running[-1]) < 2**23
    squares = _segment_sums(np.cumsum(values * values * counts), starts, stops) if squares_exact else None
    last = len(values) - 1
    at = [np.searchsorted(running, base + _rank_indexes(n, p), side="right") for p in (50, 95)]
    picked = [values[np.minimum(i, last)].tolist() for i in at]
    lows, highs = values[np.minimum(starts, last)], values[np.maximum(stops - 1, 0)]
    columns = zip(
        n.tolist(), lows.tolist(), highs.tolist(), *picked, totals.tolist(), starts.tolist(), stops.tolist(),
        strict=False,
    )  # fmt: skip
    out = []
    for index, (count, low, high, median, p95, total, lo, hi) in enumerate(columns):
        if count == 0:
            out.append(DurationStats.empty())
            continue
        sq = int(squares[index]) if squares is not None else _python_squares(values[lo:hi], counts[lo:hi])
        out.append(
            DurationStats(
                count=count,
                min=low,
                max=high,
                mean=math.floor(total / count + 0.5),
                median=median,
                p95=p95,
                total=total,
                standard_deviation=math.sqrt(max(0, count * sq - total * total) / (count * count)),
            )
        )
    return out


def _rank_indexes(counts: npt.NDArray[np.int64], percent: int) -> npt.NDArray[np.int64]:
    """``rank_index`` of every count at once."""
    import numpy as np

    return np.maximum(0, -(-counts * percent // 100) - 1)


def _segment_sums(
    cumulative: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    import numpy as np

    if len(cumulative) == 0:
        return np.zeros(len(starts), dtype=np.int64)
    upto = np.where(stops > 0, cumulative[np.maximum(stops - 1, 0)], 0)
    before = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0)
    return upto - before


def _python_squares(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> int:
    return sum(int(v) * int(v) * int(c) for v, c in zip(values, counts, strict=True))
