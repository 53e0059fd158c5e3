"""Snapshot tests of the 2.0-shaped output (``circlet config process``): one small config per feature.

Set ``CIRCLET_UPDATE_SNAPSHOTS=1`` to rewrite the expected files after a deliberate change, then review the diff.
"""

from __future__ import annotations

import os

import pytest

from tests.unit.compiler.helpers import FIXTURES, compile_text

CASES = sorted((FIXTURES / "configs" / "process").glob("*.yml"))
CASES = [case for case in CASES if not case.name.endswith(".expected.yml")]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_processed_yaml_matches_snapshot(case):
    config = compile_text(case.read_text(), branch="feat/x")
    expected_file = case.with_name(case.stem + ".expected.yml")
    if os.environ.get("CIRCLET_UPDATE_SNAPSHOTS") == "1":
        expected_file.write_text(config.processed_yaml)
    assert config.processed_yaml == expected_file.read_text()


def test_there_is_a_snapshot_for_every_case():
    assert len(CASES) >= 12
