"""The processed-config dumper writes what PyYAML's own safe dumper writes, only faster."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from circlet.compiler.emit import Unshared, emit
from circlet.compiler.process import dump


class _Reference(yaml.SafeDumper):
    pass


_Reference.add_representer(
    str,
    lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None),
)


def _reference(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Reference, sort_keys=False, default_flow_style=False, width=1 << 16)
    return text


def test_same_text_as_pyyaml_for_every_plain_type():
    shared = {"image": "cimg/base:stable"}
    data = {
        "version": 2,
        "flags": [True, False, None, 0, -3, 1.5, float("inf"), 1e20],
        "text": ["plain", "needs: quoting", "multi\nline\n", "", "yes", "0123", "- dash", "#x"],
        "jobs": {"a": {"docker": [shared]}, "b": {"docker": [shared]}},
        3: {"nested": [[], {}, [[1]]]},
    }
    assert dump(data) == _reference(data)
    assert "&id001" in dump(data)  # a shared object is written once and aliased, as PyYAML does


_PIECES = [*"ab:#-?' \"\\\n|>{}[],&*!%@`~.09eExo+_=<", "true", "null", "yes", "---", "...", "- ", ": ", " #"]
_TEXT = st.lists(
    st.sampled_from([*_PIECES, "1.5", "0x1F", "<<", "é", "\t", "🏁", "\x00", "\xa0"]), max_size=8
).map("".join)
_SCALAR = _TEXT | st.sampled_from([True, False, None, 0, -3, 12])
_DATA = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_TEXT | st.sampled_from([1, True, None]), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_TEXT.filter(bool), _DATA, min_size=1, max_size=4))
def test_fast_writer_matches_pyyaml_or_steps_aside(data):
    fast = emit(data)
    assert fast is None or fast == _reference(data)


def test_fast_writer_covers_what_configs_hold():
    data = {
        "version": 2,
        "jobs": {
            "build": {
                "docker": [
                    {"image": "cimg/node:16.0"},
                    {"image": "x", "environment": {"A": "1", "B": "yes"}},
                ],
                "steps": [
                    "checkout",
                    {"run": {"name": "🏁 Build", "command": "echo a\n  indented\n\nlast\n"}},
                    {"run": {"command": "  leading\nno newline"}},
                    {"run": {"command": "trailing space \nis quoted\n", "when": "always"}},
                    {"run": "a\ttab"},
                    [[1, "two"], []],
                ],
            }
        },
        "workflows": {
            "w": {"jobs": ["build", {"build": {"name": "b-2", "filters": {"tags": {"only": "/v.*/"}}}}]}
        },
    }
    assert emit(data) == _reference(data)


def test_unshared_maps_write_repeated_objects_out_and_shared_ones_step_aside():
    step = {"run": {"command": "make"}}
    jobs = Unshared({"a": {"steps": [step]}, "b": {"steps": [step]}})
    text = dump({"version": 2, "jobs": jobs})
    assert "&id" not in text
    assert text == _reference(
        {"version": 2, "jobs": {"a": {"steps": [copy.deepcopy(step)]}, "b": {"steps": [copy.deepcopy(step)]}}}
    )
    filters = {"branches": {"only": "main"}}
    shared = {"w": {"jobs": [{"a": {"filters": filters}}, {"b": {"filters": filters}}]}}
    assert emit(shared) is None  # PyYAML writes an alias here
    assert dump(shared) == _reference(shared)
