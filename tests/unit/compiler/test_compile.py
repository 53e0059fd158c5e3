"""compile_config end to end on small configs: expansion, steps, errors with locations."""

from __future__ import annotations

import pytest

from circlet.compiler import DictOrbSource, declared_parameters
from circlet.errors import ConfigInvalid
from circlet.model.statuses import JobType
from tests.unit.compiler.helpers import compile_text, runs, workflow

BASE = """
version: 2.1
executors:
  py:
    parameters:
      tag: {type: string, default: "3.12"}
    docker:
      - image: cimg/python:<< parameters.tag >>
      - image: redis:7
    environment: {FROM_EXECUTOR: "1", SHARED: executor}
    resource_class: large
commands:
  greet:
    parameters:
      who: {type: string, default: world}
      extra: {type: steps, default: []}
    steps:
      - run: echo hello << parameters.who >>
      - steps: << parameters.extra >>
jobs:
  build:
    executor: {name: py, tag: "3.11"}
    environment: {SHARED: job, COUNT: 3, FLAG: true}
    parameters:
      loud: {type: boolean, default: false}
    steps:
      - checkout
      - greet:
          who: "loud-<< parameters.loud >>"
          extra:
            - run: {name: Extra, command: "true", no_output_timeout: 1h30m, when: always}
      - when:
          condition: << parameters.loud >>
          steps: [{run: echo LOUD}]
      - unless:
          condition: << parameters.loud >>
          steps: [{run: echo quiet}]
      - save_cache:
          key: v1-{{ checksum "x" }}
          paths: vendor
      - restore_cache: {key: v1-x}
      - persist_to_workspace: {root: ., paths: bin}
      - attach_workspace: {at: /tmp/ws}
      - store_artifacts: {path: out, destination: art}
      - store_test_results: {path: results}
      - add_ssh_keys: {fingerprints: ["aa:bb"]}
      - setup_remote_docker: {version: default}
      - deploy: ./deploy.sh
workflows:
  main:
    jobs:
      - build:
          loud: true
"""


def test_executor_parameters_environment_merge_and_steps():
    config = compile_text(BASE)
    job = config.jobs["build"]
    assert job.executor.type == "docker"
    assert job.executor.images == ("cimg/python:3.11", "redis:7")
    assert job.executor.resource_class == "large"
    assert dict(job.environment) == {"FROM_EXECUTOR": "1", "SHARED": "job", "COUNT": "3", "FLAG": "true"}
    assert job.working_directory == "~/project"
    steps = job.steps
    assert [s["type"] for s in steps] == [
        "checkout",
        "run",
        "run",
        "run",
        "save_cache",
        "restore_cache",
        "persist_to_workspace",
        "attach_workspace",
        "store_artifacts",
        "store_test_results",
        "add_ssh_keys",
        "setup_remote_docker",
        "run",
    ]
    assert steps[0] == {
        "type": "checkout",
        "name": "Checkout code",
        "when": "on_success",
        "path": None,
        "method": "full",
    }
    assert steps[1]["command"] == "echo hello loud-true"
    assert steps[1]["name"] == "echo hello loud-true"
    assert (steps[2]["name"], steps[2]["when"], steps[2]["no_output_timeout_s"]) == (
        "Extra",
        "always",
        5400.0,
    )
    assert steps[3]["command"] == "echo LOUD"
    assert (steps[4]["name"], steps[4]["paths"]) == ("Saving Cache", ["vendor"])
    assert steps[5]["keys"] == ["v1-x"]
    assert (steps[6]["name"], steps[6]["root"], steps[6]["paths"]) == (
        "Persisting to Workspace",
        ".",
        ["bin"],
    )
    assert (steps[7]["name"], steps[7]["at"]) == ("Attaching Workspace", "/tmp/ws")
    assert (steps[8]["name"], steps[8]["destination"]) == ("Uploading artifacts", "art")
    assert steps[9]["name"] == "Uploading test results"
    assert steps[10]["fingerprints"] == ["aa:bb"]
    assert steps[12]["command"] == "./deploy.sh"


def test_errors_are_collected_with_locations():
    text = """
    version: 2.1
    jobs:
      build:
        docker: [{image: x}]
        parameters:
          p: {type: integer}
        steps:
          - nosuch
          - run: echo << parameters.q >>
    workflows:
      w:
        jobs:
          - build:
              p: 1
              bogus: 2
          - test:
              requires: [nothing]
    """
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text)
    problems = {p.message: p for p in caught.value.problems}
    assert "Cannot find a definition for command named nosuch" in problems
    assert problems["Cannot find a definition for command named nosuch"].line == 9
    assert "Unexpected argument(s): bogus (job 'build')" in problems
    assert "Cannot find a definition for job named test" in problems
    assert "Job 'test' requires 'nothing', which is the name of 0 other jobs in workflow 'w'" in problems
    assert any(m.startswith("Arguments referenced without declared parameters: q") for m in problems)
    assert all(p.file == ".circleci/config.yml" and p.line for p in caught.value.problems)


def test_cycles_are_reported():
    text = """
    version: 2.1
    jobs:
      a: {docker: [{image: x}], steps: [checkout]}
    workflows:
      w:
        jobs:
          - a: {name: one, requires: [two]}
          - a: {name: two, requires: [one]}
    """
    with pytest.raises(ConfigInvalid, match="Cycle in workflow 'w'"):
        compile_text(text)


def test_lazy_validation_of_workflows_that_do_not_run():
    text = """
    version: 2.1
    parameters:
      nightly: {type: boolean, default: false}
    jobs:
      a: {docker: [{image: x}], steps: [checkout]}
    workflows:
      main: {jobs: [a]}
      nightly:
        when: << pipeline.parameters.nightly >>
        jobs:
          - a: {requires: [does_not_exist]}
    """
    config = compile_text(text)
    assert workflow(config, "nightly").runs is False
    assert workflow(config, "nightly").skip_reason == "when: << pipeline.parameters.nightly >> is false"
    assert any("does_not_exist" in w.message for w in config.warnings)
    with pytest.raises(ConfigInvalid, match="does_not_exist"):
        compile_text(text, parameters={"nightly": True})


def test_pipeline_parameters_are_validated_and_filled():
    text = """
    version: 2.1
    parameters:
      deploy: {type: boolean, default: false}
      env: {type: enum, enum: [dev, prod], default: dev}
    jobs:
      a: {docker: [{image: "x:<< pipeline.parameters.env >>"}], steps: [checkout]}
    workflows:
      w:
        when: pipeline.parameters.deploy
        jobs: [a]
    """
    config = compile_text(text, parameters={"deploy": "true"})
    assert dict(config.parameters) == {"deploy": True, "env": "dev"}
    assert workflow(config, "w").runs
    assert config.jobs["a"].executor.images == ("x:dev",)
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text, parameters={"deploy": 3, "other": 1})
    messages = [p.message for p in caught.value.problems]
    assert "pipeline parameters: Unexpected argument(s): other" in messages
    assert any("expects type boolean" in m for m in messages)
    assert declared_parameters(text) == {
        "deploy": {"type": "boolean", "default": False},
        "env": {"type": "enum", "default": "dev", "enum": ["dev", "prod"]},
    }


def test_tag_pipelines_need_tag_filters_and_dependents_say_why():
    text = """
    version: 2.1
    jobs:
      build: {docker: [{image: x}], steps: [checkout]}
      deploy: {docker: [{image: x}], steps: [checkout]}
    workflows:
      release:
        jobs:
          - build
          - deploy:
              requires: [build]
              filters: {tags: {only: /^v.*/}, branches: {ignore: /.*/}}
    """
    tagged = compile_text(text, branch="", tag="v1.0")
    jobs = {j.name: j for j in workflow(tagged, "release").jobs}
    assert jobs["build"].skip_reason == "it has no tags filter, so it does not run for tag 'v1.0'"
    assert jobs["deploy"].skip_reason == "it requires 'build', which does not run for this trigger"
    assert runs(compile_text(text), "release") == {"build": True, "deploy": False}


def test_matrix_alias_requires_and_repeated_names():
    text = """
    version: 2.1
    jobs:
      test:
        parameters: {v: {type: string}}
        docker: [{image: "node:<< parameters.v >>"}]
        steps: [checkout]
      lint: {docker: [{image: x}], steps: [checkout]}
    workflows:
      w:
        jobs:
          - lint
          - lint
          - test:
              matrix: {parameters: {v: ["18", "20"]}, alias: all-tests}
          - test:
              name: after-<< matrix.v >>
              matrix: {parameters: {v: ["18", "20"]}}
              requires: [test-<< matrix.v >>]
          - hold: {type: approval, requires: [all-tests]}
    """
    flow = workflow(compile_text(text), "w")
    names = [j.name for j in flow.jobs]
    assert names == ["lint-1", "lint-2", "test-18", "test-20", "after-18", "after-20", "hold"]
    by_name = {j.name: j for j in flow.jobs}
    assert by_name["after-20"].requires == ("test-20",)
    assert by_name["hold"].requires == ("test-18", "test-20")
    assert by_name["hold"].type is JobType.APPROVAL
    assert by_name["hold"].requires_statuses == {"test-18": ("success",), "test-20": ("success",)}


def test_requires_with_statuses():
    text = """
    version: 2.1
    jobs:
      a: {docker: [{image: x}], steps: [checkout]}
    workflows:
      w:
        jobs:
          - a: {name: one}
          - a: {name: two}
          - a: {name: three, requires: [{one: [failed, canceled]}, {two: terminal}]}
    """
    three = workflow(compile_text(text), "w").jobs[2]
    assert three.requires == ("one", "two")
    assert three.requires_statuses["one"] == ("failed", "canceled")
    assert three.requires_statuses["two"] == ("success", "failed", "canceled", "unauthorized", "not_run")


def test_orbs_importing_orbs_and_executor_windows():
    orbs = DictOrbSource(
        {
            "acme/base@1.0.0": "version: 2.1\ncommands:\n  hello:\n    steps: [{run: echo base}]\n",
            "acme/win@2.1.0": (
                "version: 2.1\norbs:\n  base: acme/base@1\n"
                "executors:\n  default:\n    machine: {image: windows-server-2022-gui:current}\n"
                "    resource_class: windows.medium\n    shell: bash.exe\n"
                "commands:\n  setup:\n    steps: [base/hello, {run: echo win}]\n"
                "jobs:\n  check:\n    executor: default\n    steps: [setup]\n"
            ),
        }
    )
    text = """
    version: 2.1
    orbs:
      win: acme/win@2.1
    workflows:
      w:
        jobs: [win/check]
    """
    config = compile_text(text, orbs=orbs)
    job = config.jobs["win/check"]
    assert job.executor.type == "windows"
    assert job.shell == "bash.exe"
    assert [s["command"] for s in job.steps] == ["echo base", "echo win"]
    assert config.processed_yaml.startswith("# Orb 'acme/win@2.1' resolved to 'acme/win@2.1.0'\n")


def test_setup_config_and_implicit_workflow_and_no_build_job():
    config = compile_text(
        "version: 2.1\nsetup: true\njobs:\n  build: {docker: [{image: x}], steps: [checkout]}\n"
    )
    assert config.setup is True
    assert [(f.name, [j.name for j in f.jobs]) for f in config.workflows] == [("workflow", ["build"])]
    with pytest.raises(ConfigInvalid, match="Cannot find a job named `build`"):
        compile_text("version: 2.1\njobs:\n  test: {docker: [{image: x}], steps: [checkout]}\n")


@pytest.mark.parametrize("version", ["3", "'2.2'", "true", "[2.1]"])
def test_bad_version(version):
    with pytest.raises(ConfigInvalid, match=r"version must be 2 or 2\.1"):
        compile_text(f"version: {version}\njobs:\n  build: {{docker: [{{image: x}}], steps: [checkout]}}\n")


def test_schema_violations_are_warnings():
    config = compile_text(
        "version: 2.1\njobs:\n  build:\n    docker: [{image: x}]\n    steps: [{checkout: {directory: rover}}]\n"
        "workflows:\n  w:\n    jobs: [build]\n"
    )
    assert any(
        w.message.startswith("schema:") and w.path == "jobs.build.steps[0].checkout" for w in config.warnings
    )


def test_no_op_jobs_inline_or_defined_and_approval_defined_as_a_job():
    config = compile_text(
        """
        version: 2.1
        jobs:
          build: {docker: [{image: x}], steps: [checkout]}
          gate: {type: no-op}
          sign-off: {type: approval}
        workflows:
          w:
            jobs:
              - build
              - gate: {requires: [build]}
              - marker: {type: no-op, requires: [gate]}
              - sign-off: {requires: [marker]}
        """
    )
    kinds = {j.name: (j.type, j.job) for j in workflow(config, "w").jobs}
    assert kinds == {
        "build": (JobType.BUILD, "build"),
        "gate": (JobType.NO_OP, "gate"),
        "marker": (JobType.NO_OP, ""),
        "sign-off": (JobType.APPROVAL, "sign-off"),
    }
    assert "    - marker:\n        type: no-op\n" in config.processed_yaml
    assert "  gate:\n    type: no-op\n" in config.processed_yaml


def test_unsupported_job_types_and_job_groups_are_named():
    text = """
    version: 2.1
    jobs:
      rel: {type: release, plan_name: web}
    job-groups:
      g: {jobs: [rel]}
    workflows:
      w:
        jobs:
          - rel
          - l: {type: lock, key: k}
          - z: {type: bogus}
    """
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text)
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems == {
        "jobs.rel.type": "job type 'release' is not supported: release jobs belong to CircleCI's deploy "
        "tracking, which circlet does not have",
        "workflows.w.jobs[1].l.type": "job type 'lock' is not supported: lock jobs are not supported yet; "
        "use serial-group to run jobs one at a time",
        "workflows.w.jobs[2].z.type": "unknown job type 'bogus'; CircleCI's job types are build, approval, "
        "no-op, release, lock, unlock",
        "job-groups": "job-groups are not supported by circlet yet; list the group's jobs in the workflow "
        "instead",
    }


def test_workflow_max_auto_reruns():
    text = """
    version: 2.1
    jobs:
      build: {docker: [{image: x}], steps: [checkout]}
    workflows:
      w:
        max_auto_reruns: 3
        jobs: [build]
      plain:
        jobs: [build]
      bad:
        max_auto_reruns: %s
        jobs: [build]
    """
    config = compile_text(text % 5)
    assert [(w.name, w.max_auto_reruns) for w in config.workflows] == [("w", 3), ("plain", 0), ("bad", 5)]
    for bad in ("6", "0", "true", "two"):
        with pytest.raises(ConfigInvalid) as caught:
            compile_text(text % bad)
        (problem,) = caught.value.problems
        assert problem.path == "workflows.bad.max_auto_reruns"
        assert problem.message.startswith("max_auto_reruns must be an integer from 1 to 5; got ")


def test_setup_config_runs_one_workflow_and_has_no_schedules():
    text = """
    version: 2.1
    setup: true
    jobs:
      a: {docker: [{image: x}], steps: [checkout]}
    workflows:
      one: {jobs: [a]}
      two: {jobs: [a]}
      tags-only:
        jobs:
          - a: {filters: {branches: {ignore: /.*/}}}
      nightly:
        triggers: [{schedule: {cron: "0 0 * * *", filters: {branches: {only: [main]}}}}]
        jobs: [a]
    """
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text)
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems == {
        "workflows.nightly.triggers": "a setup config cannot have scheduled workflows (triggers)",
        "workflows": "a setup config may run only one workflow; this trigger runs 2: one, two",
    }
    legacy = "version: 2\nsetup: true\njobs:\n  build: {docker: [{image: x}], steps: [checkout]}\n"
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(legacy)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("setup", "a setup config must be version 2.1")
    ]


def test_serial_group_keys_are_checked_after_compiling():
    text = """
    version: 2.1
    jobs:
      build: {docker: [{image: x}], steps: [checkout]}
    workflows:
      w:
        jobs:
          - build: {serial-group: "<< pipeline.git.branch >>/deploy"}
    """
    assert workflow(compile_text(text), "w").jobs[0].serial_group == "main/deploy"
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text, branch="fix it")
    (problem,) = caught.value.problems
    assert (problem.path, problem.message) == (
        "workflows.w.jobs[0].build.serial-group",
        "serial-group must be 1 to 512 characters from A-Z a-z 0-9 . _ / -; got 'fix it/deploy'",
    )


def test_pipeline_parameters_are_not_in_scope_inside_orbs():
    registry = DictOrbSource(
        {
            "acme/tools@1.0.0": "version: 2.1\ncommands:\n  say:\n    steps:\n"
            "      - run: echo << pipeline.parameters.who >> on << pipeline.git.branch >>\n"
        }
    )
    text = """
    version: 2.1
    parameters:
      who: {type: string, default: me}
    orbs:
      tools: acme/tools@1.0.0
      local:
        commands:
          hi:
            steps: [{run: "echo << pipeline.parameters.who >> on << pipeline.git.branch >>"}]
    jobs:
      build:
        docker: [{image: x}]
        steps: [tools/say, local/hi, {run: "echo << pipeline.parameters.who >>"}]
    workflows:
      w: {jobs: [build]}
    """
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text, orbs=registry)
    found = sorted((p.file, p.path, p.line) for p in caught.value.problems)
    assert found == [
        (".circleci/config.yml", "orbs.local.commands.hi.steps[0].run", 10),
        ("orb acme/tools@1.0.0", "commands.say.steps[0].run", 5),
    ]
    assert {p.message for p in caught.value.problems} == {
        "Arguments referenced without declared parameters: who (pipeline parameters are not in scope "
        "inside orbs)"
    }
    fixed = text.replace("<< pipeline.parameters.who >> on ", "")
    registry = DictOrbSource(
        {
            "acme/tools@1.0.0": "version: 2.1\ncommands:\n  say:\n    steps:\n      - run: echo on << pipeline.git.branch >>\n"
        }
    )
    config = compile_text(fixed, orbs=registry)
    assert [s["command"] for s in config.jobs["build"].steps] == ["echo on main", "echo main", "echo me"]


@pytest.mark.parametrize(
    ("retention", "problem"),
    [
        ("{caches: 30d}", None),
        ("'12h'", "retention must be a map such as {caches: 7d}; got '12h'"),
        ("{caches: 31d}", "retention.caches must be 1d to 30d; got '31d'"),
        ("{artifacts: 3d}", "unknown retention key 'artifacts'; the only one is caches"),
    ],
)
def test_job_retention_is_checked(retention, problem):
    text = f"""
    version: 2.1
    jobs:
      build:
        docker: [{{image: x}}]
        circleci_ip_ranges: true
        retention: {retention}
        steps: [checkout]
    workflows:
      w: {{jobs: [build]}}
    """
    if problem is None:
        assert compile_text(text).jobs["build"].steps
        return
    with pytest.raises(ConfigInvalid) as caught:
        compile_text(text)
    assert [p.message for p in caught.value.problems] == [problem]
