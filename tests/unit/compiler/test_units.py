"""Unit tests: conditions, expressions, filters, parameters, matrix naming, versions, durations."""

from __future__ import annotations

import math

import pytest

from circlet.compiler import (
    DictOrbSource,
    OrbRef,
    conditions,
    expressions,
    filters,
    matrix,
    parse_orb_ref,
    resolve_version,
)
from circlet.compiler.parameters import bind_arguments, parse_declarations
from circlet.compiler.steps import parse_duration_s

LOOKUP = {"pipeline.git.branch": "main", "pipeline.number": 42, "pipeline.parameters.flag": False}.get


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (True, True),
        (None, False),
        (0, False),
        (float("nan"), False),
        ("", False),
        ("false", True),
        ({"and": [True, 1, "x"]}, True),
        ({"or": [False, None]}, False),
        ({"not": {"equal": [1, 1]}}, False),
        ({"equal": ["main", "main", "main"]}, True),
        ({"equal": [42, "42"]}, False),
        ({"equal": [True, 1]}, False),
        ({"matches": {"pattern": "^v\\d+$", "value": "v12"}}, True),
        ({"matches": {"pattern": "/main/", "value": "main-2"}}, False),
        ({"unknown": 1}, True),
    ],
)
def test_logic_statements(statement, expected):
    assert conditions.evaluate(statement) is expected


@pytest.mark.parametrize(
    "statement",
    [{"and": []}, {"or": "x"}, {"matches": {"pattern": "(?=x)", "value": "x"}}, {"matches": {"value": 1}}],
)
def test_bad_logic_statements_are_errors(statement):
    with pytest.raises(conditions.ConditionError):
        conditions.evaluate(statement)


def test_logic_nesting_is_bounded():
    statement: object = True
    for _ in range(150):
        statement = {"not": statement}
    with pytest.raises(conditions.ConditionError, match="deeper"):
        conditions.evaluate(statement)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('pipeline.git.branch == "main"', True),
        ('pipeline.git.branch != "main"', False),
        ('pipeline.git.branch starts-with "ma"', True),
        ("pipeline.git.branch matches /ma.*/", True),
        ("pipeline.git.branch matches /ma/", False),
        ("pipeline.number >= 40 and pipeline.number < 43", True),
        ('pipeline.git.branch == "main" and 10 or 1', 10),
        ('pipeline.git.branch == "dev" and 10 or 1', 1),
        ("not pipeline.parameters.flag", True),
        ('pipeline.git.tag or "none"', "none"),
        ("pipeline.number == 42.0", True),
        ("(true or false) and not (1 == 2)", True),
        ('pipeline.number == "42"', False),
    ],
)
def test_expressions(text, expected):
    assert expressions.evaluate(expressions.parse(text), LOOKUP) == expected


@pytest.mark.parametrize(
    "text",
    ["pipeline.number starts-with 4", 'pipeline.git.branch > "a"', "pipeline.git.branch ==", "(true", "x y"],
)
def test_bad_expressions(text):
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate(expressions.parse(text), LOOKUP)


def test_truthiness():
    assert not expressions.truthy(math.nan)
    assert expressions.truthy([]) is True


@pytest.mark.parametrize(
    ("rules", "branch", "tag", "runs"),
    [
        (None, "main", "", True),
        (None, "", "v1", False),
        ({"branches": {"only": "main"}}, "main", "", True),
        ({"branches": {"only": ["/feat-.*/", "dev"]}}, "feat-x", "", True),
        ({"branches": {"only": ["/feat-.*/", "dev"]}}, "xfeat-x", "", False),
        ({"branches": {"ignore": "/.*/"}}, "main", "", False),
        ({"branches": {"only": "/.*/", "ignore": "main"}}, "main", "", False),
        ({"tags": {"only": "/^v.*/"}}, "main", "", True),
        ({"tags": {"only": "/^v.*/"}}, "", "v1.0", True),
        ({"tags": {"only": "/^v.*/"}}, "", "release", False),
        ({"tags": {"ignore": "/.*/"}}, "", "v1", False),
        ({"branches": {"ignore": "/.*/"}, "tags": {"only": "/.*/"}}, "", "v1", True),
        ('pipeline.git.branch == "main"', "main", "", True),
        ('pipeline.git.branch == "main"', "dev", "", False),
    ],
)
def test_filters(rules, branch, tag, runs):
    lookup = {"pipeline.git.branch": branch, "pipeline.git.tag": tag}.get
    reason = filters.evaluate(rules, branch=branch, tag=tag, lookup=lookup)
    assert (reason is None) is runs
    if not runs:
        assert reason


def test_filter_with_lookahead_is_refused():
    with pytest.raises(filters.FilterError, match="lookarounds"):
        filters.evaluate({"branches": {"only": "/(?!main).*/"}}, branch="x", tag="", lookup=LOOKUP)


def test_parameter_types_defaults_and_errors():
    decls, errors = parse_declarations(
        {
            "s": {"type": "string", "default": "x"},
            "b": {"type": "boolean", "default": False},
            "i": {"type": "integer"},
            "e": {"type": "enum", "enum": ["a", "b"], "default": "a"},
            "n": {"type": "env_var_name", "default": "TOKEN"},
            "st": {"type": "steps", "default": []},
        }
    )
    assert errors == []
    bound, errors = bind_arguments(decls, {"i": 3, "s": 3.10})
    assert errors == []
    assert bound == {"s": "3.1", "b": False, "i": 3, "e": "a", "n": "TOKEN", "st": []}
    _, errors = bind_arguments(decls, {"b": "yes", "e": "c", "n": "FOO-BAR", "zz": 1})
    messages = [e.message for e in errors]
    assert messages[0] == "Unexpected argument(s): zz"
    assert "Missing required argument(s): i" in messages
    assert any("expects type boolean" in m for m in messages)
    assert any("must be one of [a, b]" in m for m in messages)
    assert any("environment variable name" in m for m in messages)


def test_parameter_declaration_errors():
    _, errors = parse_declarations(
        {"x": {"type": "float"}, "e": {"type": "enum", "enum": ["a"], "default": "b"}}
    )
    assert len(errors) == 2
    _, errors = parse_declarations({"s": {"type": "steps"}}, pipeline=True)
    assert "expected one of: boolean, enum, integer, string" in errors[0].message


def test_pipeline_parameters_coerce_strings():
    decls, _ = parse_declarations(
        {"b": {"type": "boolean", "default": False}, "i": {"type": "integer", "default": 1}}
    )
    bound, errors = bind_arguments(decls, {"b": "true", "i": "12"}, coerce_strings=True)
    assert (bound, errors) == ({"b": True, "i": 12}, [])


def test_matrix_names_order_values_by_parameter_name():
    expanded = matrix.expand(
        {
            "parameters": {"os": ["docker", "linux"], "node-version": ["14.17.6", "16.9.0"]},
            "exclude": [{"os": "linux", "node-version": "16.9.0"}],
        }
    )
    names = [matrix.instance_name("test", c) for c in expanded.combinations]
    assert names == ["test-14.17.6-docker", "test-16.9.0-docker", "test-14.17.6-linux"]
    assert expanded.alias is None
    assert matrix.instance_name("t", {"flag": True, "n": 2}) == "t-true-2"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {"parameters": {}},
        {"parameters": {"a": "x"}},
        {"parameters": {"a": list(range(40)), "b": list(range(40))}},
    ],
)
def test_bad_matrices(raw):
    with pytest.raises(matrix.MatrixError):
        matrix.expand(raw)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("1.2.3", "1.2.3"),
        ("1.2", "1.2.10"),
        ("1", "1.10.0"),
        ("2", None),
        ("volatile", "1.10.0"),
        ("dev:alpha", "dev:alpha"),
        ("dev:beta", None),
        ("1.2.4", None),
        ("x.y", None),
    ],
)
def test_resolve_version(requested, expected):
    assert resolve_version(requested, ["1.2.3", "1.2.10", "1.10.0", "0.9.0", "dev:alpha"]) == expected


def test_dict_orb_source_resolves_like_circleci():
    source = DictOrbSource({"acme/tools@1.0.0": "a", "acme/tools@1.4.2": "b"})
    found = source.fetch(OrbRef("acme", "tools", "1"))
    assert found is not None
    assert (found.version, found.source) == ("1.4.2", "b")
    assert source.fetch(OrbRef("acme", "tools", "2")) is None
    assert source.fetch(OrbRef("acme", "other", "1")) is None
    assert parse_orb_ref("circleci/node@dev:<<x>>") == OrbRef("circleci", "node", "dev:<<x>>")
    assert parse_orb_ref("https://example.com/orb.yml") is None
    with pytest.raises(ValueError, match="not an orb reference"):
        source.add("nope", "x")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("20s", 20.0),
        ("1.25h", 4500.0),
        ("10", None),
        ("m", None),
        (True, None),
    ],
)
def test_durations(text, seconds):
    assert parse_duration_s(text) == seconds
