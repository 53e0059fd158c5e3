"""Parsed orbs are reused across compiles, and reusing them changes nothing in the output."""

from __future__ import annotations

from circlet.compiler import DictOrbSource, compile_config
from circlet.compiler.namespaces import parse_orb

ORB = """\
version: 2.1
commands:
  greet:
    parameters: {to: {type: string, default: world}}
    steps: [{run: echo hello << parameters.to >> on << pipeline.git.branch >>}]
"""
CONFIG = """\
version: 2.1
orbs: {g: acme/greet@1}
jobs:
  build:
    docker: [{image: x}]
    steps: [{g/greet: {to: you}}]
workflows:
  w: {jobs: [build]}
"""


def test_second_compile_reuses_the_parsed_orb_with_its_own_values():
    orbs = DictOrbSource({"acme/greet@1.0.0": ORB + "# unique to this test\n"})
    before = parse_orb.cache_info()
    first = compile_config(CONFIG, values={"pipeline.git.branch": "main"}, parameters={}, orbs=orbs)
    second = compile_config(CONFIG, values={"pipeline.git.branch": "dev"}, parameters={}, orbs=orbs)
    after = parse_orb.cache_info()
    assert after.misses == before.misses + 1
    assert after.hits == before.hits + 1
    assert "echo hello you on main" in first.processed_yaml
    assert "echo hello you on dev" in second.processed_yaml
    third = compile_config(CONFIG, values={"pipeline.git.branch": "main"}, parameters={}, orbs=orbs)
    assert third.processed_yaml == first.processed_yaml
