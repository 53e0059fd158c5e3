"""YAML loading: YAML 1.1 scalars, anchors, merge keys, marks and hostile input."""

from __future__ import annotations

import time

import pytest

from circlet.compiler.loader import MAX_DEPTH, load_document
from circlet.errors import ConfigInvalid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("No", False),
        ("ON", True),
        ("off", False),
        ("y", "y"),
        ("n", "n"),
        ("~", None),
        ("", None),
        ("010", 8),
        ("0x1F", 31),
        ("1_000", 1000),
        ("3.10", 3.1),
        ("'3.10'", "3.10"),
        ('"yes"', "yes"),
        ("!!str 12", "12"),
        ("2001-12-14", "2001-12-14"),
    ],
)
def test_yaml_1_1_scalars(text, expected):
    assert load_document(f"k: {text}\n").data == {"k": expected}


def test_redefined_anchor_uses_newest_definition():
    doc = load_document("a: &x 1\nb: *x\nc: &x 2\nd: *x\n")
    assert doc.data == {"a": 1, "b": 1, "c": 2, "d": 2}


def test_merge_keys_explicit_keys_win_and_first_source_wins():
    doc = load_document("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 0\n")
    assert doc.data["c"] == {"x": 0, "y": 1, "z": 2}


def test_quoted_merge_key_is_a_plain_key():
    assert load_document('a:\n  "<<": 1\n').data == {"a": {"<<": 1}}


def test_marks_are_one_based_and_follow_paths():
    doc = load_document("jobs:\n  build:\n    steps:\n      - checkout\n      - run: make\n")
    assert doc.locate(("jobs", "build", "steps", 1)) == (5, 9)
    assert doc.locate(("jobs", "build", "steps", 1, "run", "deeper")) == (5, 14)
    assert doc.problem("x", ("jobs", "build")).path == "jobs.build"


def test_alias_bomb_is_refused_fast():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(
            f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
        )
    start = time.perf_counter()
    with pytest.raises(ConfigInvalid, match="too many aliases"):
        load_document("\n".join(lines))
    assert time.perf_counter() - start < 2


def test_deep_nesting_is_refused():
    with pytest.raises(ConfigInvalid, match="nests deeper"):
        load_document("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))


@pytest.mark.parametrize(
    "text", ["a: [1, 2", "a: *nowhere", "a: !!python/object:os.system x", "--- 1\n--- 2\n", "{[1]: 2}"]
)
def test_bad_yaml_raises_config_invalid_with_a_location(text):
    with pytest.raises(ConfigInvalid) as caught:
        load_document(text)
    assert caught.value.problems[0].message


def test_huge_input_is_refused():
    with pytest.raises(ConfigInvalid, match="larger than"):
        load_document("a: " + "x" * 5_000_000)


@pytest.mark.parametrize("text", ["!!int .inf", "!!int -.inf", "!!int .NaN", "a: !!int .nan"])
def test_an_int_tag_on_infinity_or_nan_is_a_problem_not_a_crash(text):
    with pytest.raises(ConfigInvalid, match="unsupported YAML tag"):
        load_document(text)
