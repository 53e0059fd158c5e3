"""The trigger form: fields from declared pipeline parameters, typed values from the form."""

from __future__ import annotations

from circlet.web.params import fields_for, parse

CONFIG = """
version: 2.1
parameters:
  greeting: {type: string, default: hello, description: What to say}
  deploy: {type: boolean, default: false}
  count: {type: integer, default: 3}
  target: {type: enum, enum: [staging, production], default: staging}
  ticket: {type: string}
jobs:
  build: {docker: [{image: cimg/base:stable}], steps: [{run: echo hi}]}
workflows:
  main: {jobs: [build]}
"""


def test_fields_follow_the_declarations() -> None:
    fields, problem = fields_for(CONFIG)
    assert problem is None
    by_name = {f.name: f for f in fields}
    assert by_name["greeting"].type == "string" and by_name["greeting"].default == "hello"
    assert by_name["greeting"].description == "What to say"
    assert by_name["deploy"].type == "boolean" and by_name["deploy"].default is False
    assert by_name["count"].type == "integer" and by_name["count"].default == 3
    assert by_name["target"].enum == ("staging", "production")
    assert by_name["ticket"].required and not by_name["greeting"].required
    assert by_name["count"].input_name == "param.count"


def test_values_are_typed_and_only_changes_are_sent() -> None:
    fields, _ = fields_for(CONFIG)
    form = {
        "param.greeting": ["hello"],
        "param.deploy": ["false", "true"],
        "param.count": ["7"],
        "param.target": ["staging"],
        "param.ticket": ["T-1"],
    }
    parsed = parse(fields, form)
    assert parsed.errors == {}
    assert parsed.values == {"deploy": True, "count": 7, "ticket": "T-1"}


def test_unchecked_boolean_is_false() -> None:
    fields, _ = fields_for(CONFIG)
    parsed = parse(fields, {"param.deploy": ["false"], "param.ticket": ["x"]})
    assert "deploy" not in parsed.values
    assert parsed.values == {"ticket": "x"}


def test_bad_values_are_reported_per_parameter() -> None:
    fields, _ = fields_for(CONFIG)
    parsed = parse(fields, {"param.count": ["three"], "param.target": ["moon"], "param.ticket": [" "]})
    assert set(parsed.errors) == {"count", "target", "ticket"}
    assert "whole number" in parsed.errors["count"]


def test_no_config_or_a_broken_one() -> None:
    assert fields_for(None) == ([], None)
    fields, problem = fields_for("- just a list")
    assert fields == [] and problem
