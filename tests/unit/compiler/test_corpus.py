"""Every real-world config in the shared corpus compiles, and representative graphs come out right."""

from __future__ import annotations

import pytest

from circlet.compiler import DictOrbSource, compile_config
from circlet.compiler.api import clear_caches
from circlet.errors import ConfigInvalid
from circlet.model.statuses import JobType
from tests.unit.compiler.helpers import (
    CORPUS,
    compile_text,
    fixture_orbs,
    inject_inline_orbs,
    runs,
    values,
    workflow,
)

FILES = sorted(CORPUS.glob("*.yml"))
ORBS = fixture_orbs()

pytestmark = pytest.mark.skipif(not FILES, reason="the shared corpus is not mounted")


def corpus(prefix: str) -> str:
    return inject_inline_orbs(next(CORPUS.glob(f"{prefix}-*.yml")).read_text())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
@pytest.mark.parametrize(("branch", "tag"), [("main", ""), ("feature/x", ""), ("", "v1.2.3")])
def test_every_corpus_file_compiles(path, branch, tag):
    text = inject_inline_orbs(path.read_text())
    config = compile_config(text, values=values(branch, tag), parameters={}, orbs=ORBS, file=path.name)
    assert config.workflows
    for flow in config.workflows:
        for job in flow.jobs:
            assert job.type is JobType.APPROVAL or job.job in config.jobs or not flow.runs
    assert config.processed_yaml.startswith(("version: 2", "# Orb"))


def test_what_compiles_remember_does_not_change_their_result():
    texts = [inject_inline_orbs(path.read_text()) for path in FILES]
    warm = [compile_config(t, values=values(), parameters={}, orbs=ORBS) for t in texts]
    again = [compile_config(t, values=values(), parameters={}, orbs=ORBS) for t in texts]
    cold = []
    for text in texts:
        clear_caches(orbs=True)
        cold.append(compile_config(text, values=values(), parameters={}, orbs=ORBS))
    assert again == warm
    assert cold == warm


def test_missing_orb_is_named_with_how_to_publish_it():
    with pytest.raises(ConfigInvalid) as caught:
        compile_config(corpus("001"), values=values(), parameters={}, orbs=DictOrbSource())
    messages = [p.message for p in caught.value.problems]
    assert (
        'orb "circleci/browser-tools@1.5.3" is not in this server\'s orb registry; '
        "publish it with: circlet orb publish circleci/browser-tools@1.5.3 FILE"
    ) in messages
    first = caught.value.problems[0]
    assert (first.line, first.path) == (4, "orbs.browser-tools")


def test_007_orb_jobs_keep_their_alias_name_and_serial_group():
    config = compile_text(corpus("007"), orbs=ORBS)
    flow = workflow(config, "build-deploy")
    assert [j.name for j in flow.jobs] == ["test", "lucos/build", "lucos/deploy-avalon"]
    deploy = flow.jobs[2]
    assert deploy.requires == ("test", "lucos/build")
    assert flow.jobs[1].serial_group == "gh/acme/app/build/main"
    assert runs(compile_text(corpus("007"), branch="dev", orbs=ORBS), "build-deploy") == {
        "test": True,
        "lucos/build": True,
        "lucos/deploy-avalon": False,
    }


def test_025_tag_filter_lets_tags_through():
    assert runs(compile_text(corpus("025"), tag="v1.0.0", branch="", orbs=ORBS), "node_exporter") == {
        "test": True
    }
    assert runs(compile_text(corpus("025"), orbs=ORBS), "node_exporter") == {"test": True}


def test_016_setup_workflows_selected_by_branch():
    main = compile_text(corpus("016"), orbs=ORBS)
    assert main.setup is True
    assert {f.name: f.runs for f in main.workflows} == {
        "setup-main": True,
        "setup-pr": False,
        "setup-tag": True,
    }
    assert (workflow(main, "setup-pr").skip_reason or "").startswith("when: ")
    pr = compile_text(corpus("016"), branch="feature", orbs=ORBS)
    assert {f.name: f.runs for f in pr.workflows} == {
        "setup-main": False,
        "setup-pr": True,
        "setup-tag": True,
    }
    assert runs(pr, "setup-tag") == {"continuation/continue": False}


def test_001_matrix_names_use_mustache_sections():
    config = compile_text(corpus("001"), orbs=ORBS)
    names = [j.name for j in workflow(config, "build").jobs]
    assert names[0] == "test_solidus_with_coverage"
    assert "test-rails-7.0-ruby-3.1-mysql-paperclip" in names
    assert "test-rails-8.0-ruby-3.1-postgres-activestorage" in names
    assert "test-rails-main-ruby-3.3.5-sqlite-activestorage" in names
    assert len(names) == 1 + 4 + 4 + 1 + 3 + 2


def test_003_matrix_default_names_and_when_gated_workflows():
    config = compile_text(corpus("003"), orbs=ORBS, parameters={"run_flaky_tests": True})
    flaky = workflow(config, "run_flaky_tests")
    assert flaky.runs
    assert [j.name for j in flaky.jobs] == [
        "check-flaky-or-pr-tests",
        "build",
        "remix-ide-browser-chrome-nogroup-1-5-singletest.sh-\\.flaky",
        "remix-ide-browser-firefox-nogroup-1-5-singletest.sh-\\.flaky",
    ]
    assert flaky.jobs[2].requires == ("build",)
    assert workflow(config, "web").skip_reason == "when: << pipeline.parameters.run_all_tests >> is false"
    job = config.jobs[flaky.jobs[2].job]
    assert job.parallelism == 5


def test_006_approval_job_and_tag_only_workflow():
    config = compile_text(corpus("006"), branch="renovate-nori-foo", orbs=ORBS)
    flow = workflow(config, "renovate-nori-build-test")
    approval = flow.jobs[0]
    assert (approval.name, approval.type, approval.job, approval.runs) == (
        "waiting-for-approval",
        JobType.APPROVAL,
        "",
        True,
    )
    assert flow.jobs[1].requires == ("waiting-for-approval",)


def test_014_orb_jobs_require_each_other():
    config = compile_text(corpus("014"), orbs=ORBS)
    cont = workflow(config, "lint-pack").jobs[-1]
    assert cont.name == "orb-tools/continue"
    assert cont.requires == (
        "orb-tools/lint",
        "orb-tools/review",
        "orb-tools/pack",
        "shellcheck/check",
        "bats/run",
    )


def test_021_version_2_config_keeps_dotted_job_names():
    config = compile_text(corpus("021"), orbs=ORBS)
    assert config.version == "2"
    assert "ruby-2.7-spec" in config.jobs


def test_020_escaped_heredoc_is_unescaped():
    config = compile_text(corpus("020"), orbs=ORBS)
    commands = [s.get("command", "") for job in config.jobs.values() for s in job.steps]
    assert any("<<" in c for c in commands)
    assert not any("\\<<" in c for c in commands)
