"""circleci tests glob / split / run, and step halt, as a job sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from circlet.runner.jobtools import glob, main, split
from tests.unit.runner.conftest import RunTasks
from tests.unit.runner.fakes import make_assignment, run_step


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("a.py", "b.txt", "src/c.py", "src/deep/d.py", "src/deep/e.rb", "test/t_1.py", "test/t_2.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x" * len(name))
    return tmp_path


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["*.py"], ["a.py"]),
        (["**/*.py"], ["a.py", "src/c.py", "src/deep/d.py", "test/t_1.py", "test/t_2.py"]),
        (["src/**/*.{py,rb}"], ["src/c.py", "src/deep/d.py", "src/deep/e.rb"]),
        (["test/t_?.py", "test/t_[1].py"], ["test/t_1.py", "test/t_2.py"]),
        (["src/*"], ["src/c.py", "src/deep"]),
        (["missing/**"], []),
    ],
)
def test_glob(tree: Path, patterns: list[str], expected: list[str]) -> None:
    assert glob(patterns, tree) == expected


def test_split_by_name_covers_every_name_once() -> None:
    names = [f"t{i}" for i in range(11)]
    shares = [split(names, index=i, total=3) for i in range(3)]
    assert sorted(n for share in shares for n in share) == sorted(names)
    assert [len(s) for s in shares] == [4, 4, 3]


def test_split_by_weight_balances_load() -> None:
    weights = {"big": 100, "m1": 50, "m2": 50, "s": 1}
    shares = [split(list(weights), index=i, total=2, weights=weights) for i in range(2)]
    assert shares == [["big", "s"], ["m1", "m2"]]


def test_unknown_command_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["orb", "list"], halt_marker=tmp_path / "h") == 1
    assert "not supported" in capsys.readouterr().err


async def test_tests_commands_inside_a_job(run_tasks: RunTasks) -> None:
    setup = "mkdir -p t && touch t/a_test.py t/b_test.py t/c_test.py"
    [task] = await run_tasks(
        make_assignment(
            run_step(setup),
            run_step('circleci tests glob "t/*_test.py" | circleci tests split --split-by=timings'),
            run_step('circleci tests glob "t/*.py" | circleci-agent tests run --command "xargs echo ran"'),
            environment={"CIRCLE_NODE_INDEX": "1", "CIRCLE_NODE_TOTAL": "2"},
        )
    )
    assert task.status == "success", task.step(1).text
    assert task.step(1).text == (
        "Error auto-detecting timing type, falling back to weighting by name.\nt/b_test.py\n"
    )
    assert task.step(2).text == "ran t/b_test.py\n"
