"""``pack_orb`` and the ``config``/``orb`` command-line apps."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from circlet.cli.config import config_app
from circlet.cli.orbs import orb_app
from circlet.compiler import DictOrbSource, pack_orb
from circlet.compiler.loader import load_document
from circlet.errors import ConfigInvalid
from tests.unit.compiler.helpers import CORPUS, FIXTURES, ORB_DIR, compile_text

ORB_SOURCE = FIXTURES / "configs" / "orb-source"
RUNNER = CliRunner()


def test_pack_orb_assembles_sections_and_includes():
    packed = load_document(pack_orb(ORB_SOURCE)).data
    assert packed["description"] == "Greets people."
    assert sorted(packed) == [
        "commands",
        "description",
        "display",
        "examples",
        "executors",
        "jobs",
        "version",
    ]
    command = packed["commands"]["greet"]["steps"][0]["run"]["command"]
    assert command == '#!/bin/bash\necho "hello ${GREET_TO}"\n'
    config = compile_text(
        "version: 2.1\norbs: {greeter: acme/greeter@1}\nworkflows:\n  main:\n    jobs: [greeter/hello]\n",
        orbs=DictOrbSource({"acme/greeter@1.0.0": pack_orb(ORB_SOURCE)}),
    )
    step = config.jobs["greeter/hello"].steps[0]
    assert (step["name"], step["environment"]) == ("Greet", {"GREET_TO": "world"})


def test_pack_orb_refuses_missing_files(tmp_path):
    with pytest.raises(ConfigInvalid, match=r"@orb\.yml"):
        pack_orb(tmp_path)
    shutil.copytree(ORB_SOURCE, tmp_path / "orb")
    (tmp_path / "orb" / "scripts" / "greet.sh").unlink()
    with pytest.raises(ConfigInvalid, match=r"cannot include scripts/greet\.sh"):
        pack_orb(tmp_path / "orb")


def test_orb_pack_command_prints_yaml():
    result = RUNNER.invoke(orb_app, ["pack", str(ORB_SOURCE)])
    assert result.exit_code == 0
    assert "greet:" in result.output
    assert RUNNER.invoke(orb_app, ["pack", str(ORB_SOURCE / "nope")]).exit_code == 1


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 2.1\n"
        "parameters:\n  deploy: {type: boolean, default: false}\n"
        "jobs:\n  build: {docker: [{image: x}], steps: [checkout]}\n"
        "  ship: {docker: [{image: x}], steps: [checkout]}\n"
        "workflows:\n"
        "  main:\n    jobs:\n      - build\n      - ship: {requires: [build], filters: {branches: {only: main}}}\n"
        "  release:\n    when: << pipeline.parameters.deploy >>\n    jobs: [ship]\n"
    )
    return path


def test_config_validate_and_process(config_file):
    result = RUNNER.invoke(config_app, ["validate", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output
    result = RUNNER.invoke(config_app, ["process", str(config_file)])
    assert result.output.startswith("version: 2\n")


def test_config_validate_lists_problems(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 2.1\njobs:\n  build: {docker: [{image: x}], steps: [nope]}\n")
    result = RUNNER.invoke(config_app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "Cannot find a definition for command named nope" in result.output


def test_config_plan_json_explains_skips(config_file):
    result = RUNNER.invoke(config_app, ["plan", str(config_file), "--branch", "dev", "--json"])
    plan = json.loads(result.output)
    main, release = plan["workflows"]
    assert [(j["name"], j["runs"], j["skip_reason"]) for j in main["jobs"]] == [
        ("build", True, None),
        ("ship", False, "branch 'dev' is not in filters.branches.only"),
    ]
    assert release["skip_reason"] == "when: << pipeline.parameters.deploy >> is false"
    result = RUNNER.invoke(
        config_app, ["plan", str(config_file), "--tag", "v1", "--param", "deploy=true", "--json"]
    )
    plan = json.loads(result.output)
    assert plan["parameters"] == {"deploy": True}
    assert plan["workflows"][1]["runs"] is True


def test_config_plan_table_and_argument_checks(config_file):
    result = RUNNER.invoke(config_app, ["plan", str(config_file), "--branch", "dev"])
    assert result.exit_code == 0
    assert "workflow release" in result.output
    assert "skipped" in result.output
    assert RUNNER.invoke(config_app, ["plan", str(config_file)]).exit_code != 0


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not mounted")
def test_config_plan_reads_orbs_from_a_directory():
    path = next(CORPUS.glob("007-*.yml"))
    result = RUNNER.invoke(
        config_app, ["plan", str(path), "--branch", "main", "--orb-dir", str(ORB_DIR), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [j["name"] for j in json.loads(result.output)["workflows"][0]["jobs"]] == [
        "test",
        "lucos/build",
        "lucos/deploy-avalon",
    ]
    result = RUNNER.invoke(config_app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "circlet orb publish lucos/deploy@0 FILE" in result.output


def test_config_plan_json_shape_is_stable(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 2.1\n"
        "jobs:\n  build: {docker: [{image: x}], steps: [checkout]}\n"
        "workflows:\n  w:\n    jobs:\n"
        "      - build: {context: [org-ctx]}\n"
        "      - hold: {type: approval, requires: [build]}\n"
        '      - done: {type: no-op, requires: [hold], filters: {branches: {only: "/[a-z]+/"}}}\n'
    )
    result = RUNNER.invoke(config_app, ["plan", str(path), "--branch", "feature-1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "setup": False,
        "parameters": {},
        "workflows": [
            {
                "name": "w",
                "runs": True,
                "skip_reason": None,
                "jobs": [
                    {
                        "name": "build",
                        "job": "build",
                        "type": "build",
                        "requires": [],
                        "contexts": ["org-ctx"],
                        "runs": True,
                        "skip_reason": None,
                    },
                    {
                        "name": "hold",
                        "job": "",
                        "type": "approval",
                        "requires": ["build"],
                        "contexts": [],
                        "runs": True,
                        "skip_reason": None,
                    },
                    {
                        "name": "done",
                        "job": "",
                        "type": "no-op",
                        "requires": ["hold"],
                        "contexts": [],
                        "runs": False,
                        "skip_reason": "branch 'feature-1' is not in filters.branches.only",
                    },
                ],
            }
        ],
    }
    result = RUNNER.invoke(config_app, ["plan", str(path), "--branch", "feature-1"])
    assert result.exit_code == 0, result.output
    assert "done (no-op)" in result.output and "hold (approval)" in result.output
    assert "runs 2 of 3 jobs" in result.output
    assert "1 of 1 workflows and 2 jobs would run." in result.output


def test_config_plan_prints_reasons_as_written(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 2.1\njobs:\n  build: {docker: [{image: x}], steps: [checkout]}\n"
        "workflows:\n  w:\n    jobs:\n      - build: {filters: 'pipeline.git.branch matches /[bold]x/'}\n"
        "  v:\n    when: 'pipeline.git.branch matches /[red]y/'\n    jobs: [build]\n"
    )
    result = RUNNER.invoke(config_app, ["plan", str(path), "--branch", "main"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "filters: pipeline.git.branch matches /[bold]x/ is false" in result.output
    assert "workflow v skipped: when: pipeline.git.branch matches /[red]y/ is false" in result.output
    assert "workflow w runs no job (all 1 filtered out)" in result.output
