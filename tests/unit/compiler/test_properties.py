"""Property tests: whatever the text, the compiler raises only ConfigInvalid, in bounded time."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circlet.compiler import DictOrbSource, compile_config, declared_parameters
from circlet.errors import ConfigInvalid
from tests.unit.compiler.helpers import values

YAML_BITS = st.sampled_from(
    [
        "version: 2.1\n",
        "jobs:\n",
        "  build:\n",
        "    docker: [{image: x}]\n",
        "    steps: [checkout]\n",
        "workflows:\n",
        "  w:\n",
        "    jobs: [build]\n",
        "    when: << pipeline.parameters.x >>\n",
        "&a ",
        "*a ",
        "<<: *a\n",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "<< parameters.p >>",
        "\\<<",
        "<<#x>>",
        "matrix: {parameters: {a: [1, 2]}}\n",
        "requires: [build]\n",
        "orbs: {o: a/b@1}\n",
        "\t",
        "'",
        '"',
        "parameters:\n",
        "  p: {type: string}\n",
        "filters: {branches: {only: /ma(in/}}\n",
        "!!binary x\n",
    ]
)


def _compile(text: str) -> None:
    start = time.perf_counter()
    try:
        compile_config(text, values=values(), parameters={}, orbs=DictOrbSource())
    except ConfigInvalid as exc:
        assert exc.problems
    assert time.perf_counter() - start < 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_raises_only_config_invalid(text):
    _compile(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(YAML_BITS, max_size=40).map("".join))
def test_yaml_shaped_noise_raises_only_config_invalid(text):
    _compile(text)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=2, max_value=12))
def test_alias_bombs_are_refused(width, depth):
    refs = ", ".join(["*a0"] * width)
    lines = ["version: 2.1", "a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, depth):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    text = "\n".join(lines) + "\n"
    start = time.perf_counter()
    try:
        compile_config(text, values=values(), parameters={}, orbs=DictOrbSource())
    except ConfigInvalid:
        pass
    assert time.perf_counter() - start < 2


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_declared_parameters_raises_only_config_invalid(text):
    try:
        result = declared_parameters(text)
    except ConfigInvalid:
        return
    assert isinstance(result, dict)
