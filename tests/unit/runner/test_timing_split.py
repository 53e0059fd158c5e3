"""Weights for ``circleci tests split --split-by=timings`` from stored timings."""

from __future__ import annotations

from circlet.runner.jobtools import _duration_ms, split, timing_weights

TIMINGS = {
    "filename": {"tests/a.py": 9.0, "tests/b.py": 1.0},
    "classname": {"tests.a": 9.0},
    "testname": {},
}


def test_autodetect_uses_the_kind_that_matches_and_defaults_the_rest() -> None:
    weights = timing_weights(["./tests/a.py", "tests/b.py", "tests/new.py"], TIMINGS, "autodetect", 5000)
    assert weights == {"./tests/a.py": 9000, "tests/b.py": 1000, "tests/new.py": 5000}
    assert timing_weights(["tests.a", "tests.z"], TIMINGS, "autodetect", 10) == {
        "tests.a": 9000,
        "tests.z": 10,
    }


def test_no_matching_timings_means_name_split() -> None:
    assert timing_weights(["x.py"], TIMINGS, "autodetect", 10) is None
    assert timing_weights(["tests/a.py"], TIMINGS, "testname", 10) is None
    assert timing_weights(["tests/a.py"], {}, "autodetect", 10) is None


def test_split_by_weight_is_balanced_and_stable() -> None:
    weights = {"a": 9, "b": 1, "c": 1, "d": 7}
    shares = [split(list(weights), index=i, total=2, weights=weights) for i in range(2)]
    assert shares == [["a"], ["b", "c", "d"]]


def test_time_default_units() -> None:
    assert [_duration_ms(t) for t in ("10s", "1.5m", "250ms", "2", "junk")] == [
        10000,
        90000,
        250,
        2000,
        10000,
    ]
