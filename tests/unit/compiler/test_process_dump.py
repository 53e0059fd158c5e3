"""The processed-config dumper writes what PyYAML's own safe dumper writes, only faster."""

from __future__ import annotations

from typing import Any

import yaml

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
