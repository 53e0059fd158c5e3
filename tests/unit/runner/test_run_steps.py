"""Run steps end to end: a real agent, real subprocesses, a fake server."""

from __future__ import annotations

from pathlib import Path

import pytest

from circlet.runner import executor, output
from tests.unit.runner.conftest import RunTasks
from tests.unit.runner.fakes import FakeServer, assert_dead, make_assignment, run_step, task_dirs


async def test_successful_steps_report_start_output_finish(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(make_assignment(run_step("echo hello"), run_step("echo world; exit 0")))
    assert task.status == "success"
    assert task.step(0).start["name"] == "echo hello"
    assert task.step(0).text == "hello\n"
    assert task.step(1).text == "world\n"
    assert task.step(0).finish == {
        "status": "success",
        "exit_code": 0,
        "ended_at": task.step(0).finish["ended_at"],
    }


async def test_failing_step_reports_exit_code_and_skips_on_success(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("echo before; exit 3"),
            run_step("echo skipped"),
            run_step("echo on-fail", when="on_fail"),
            run_step("echo always", when="always"),
            run_step("echo skipped-too"),
        )
    )
    assert task.status == "failed"
    assert (task.step(0).status, task.step(0).finish["exit_code"]) == ("failed", 3)
    assert sorted(task.steps) == [0, 2, 3]
    assert task.step(2).text == "on-fail\n"
    assert task.step(3).text == "always\n"


async def test_on_fail_steps_do_not_run_after_success(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("true"), run_step("echo no", when="on_fail"), run_step("echo yes", when="always")
        )
    )
    assert task.status == "success"
    assert sorted(task.steps) == [0, 2]


async def test_default_shell_uses_errexit_and_pipefail(run_tasks: RunTasks) -> None:
    [errexit, pipefail] = await run_tasks(
        make_assignment(run_step("false\necho not-reached")),
        make_assignment(run_step("false | true\necho not-reached")),
    )
    assert errexit.status == "failed" and "not-reached" not in errexit.step(0).text
    assert pipefail.status == "failed" and "not-reached" not in pipefail.step(0).text


async def test_shell_override_replaces_default_flags(run_tasks: RunTasks) -> None:
    [step_shell, job_shell] = await run_tasks(
        make_assignment(run_step("false\necho reached $0", shell="/bin/bash")),
        make_assignment(run_step("echo $0"), shell="/bin/sh -e"),
    )
    assert step_shell.status == "success"
    assert "reached" in step_shell.step(0).text and step_shell.step(0).text.strip().endswith(".sh")
    assert job_shell.status == "success" and job_shell.step(0).text.strip().endswith(".sh")


async def test_missing_shell_fails_the_step(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(make_assignment(run_step("true", shell="/no/such/shell")))
    assert task.status == "failed"
    assert "cannot start shell" in task.step(0).text


async def test_bash_env_carries_exports_to_later_steps(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("echo 'export GREETING=hi-from-bash-env' >> \"$BASH_ENV\""),
            run_step("echo $GREETING"),
        )
    )
    assert task.status == "success"
    assert task.step(1).text == "hi-from-bash-env\n"


async def test_working_directories(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step('pwd; [ "$(pwd)" = "$HOME/project" ]; mkdir -p sub/dir'),
            run_step("pwd", working_directory="sub/dir"),
            run_step("pwd", working_directory="~"),
            run_step("pwd", working_directory="missing"),
        )
    )
    home = Path(task.step(0).text.strip()).parent
    assert task.step(1).text.strip() == str(home / "project/sub/dir")
    assert task.step(2).text.strip() == str(home)
    assert task.status == "failed"
    assert "does not exist" in task.step(3).text


async def test_job_working_directory_relative_to_home(run_tasks: RunTasks, work_dir: Path) -> None:
    [task] = await run_tasks(make_assignment(run_step("pwd"), working_directory="app"))
    assert task.step(0).text.strip().endswith("/home/app")
    assert task.step(0).text.startswith(str(work_dir.absolute()))


async def test_circleci_image_home_means_the_job_home(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step('[ "$(pwd)" = "$HOME/repo" ] && mkdir sub'),
            run_step('[ "$(pwd)" = "$HOME/repo/sub" ]', working_directory="/home/circleci/repo/sub"),
            working_directory="/home/circleci/repo",
        )
    )
    assert task.status == "success"


async def test_child_environment_is_isolated(run_tasks: RunTasks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIRCLET_RUNNER_TOKEN", "super-secret-runner-token")
    monkeypatch.setenv("CIRCLET_DATABASE_URL", "postgresql://x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    [task] = await run_tasks(
        make_assignment(
            run_step("env", environment={"STEP_VAR": "step", "JOB_VAR": "step-wins"}),
            environment={"JOB_VAR": "job", "CIRCLE_JOB": "build"},
        )
    )
    env = dict(line.split("=", 1) for line in task.step(0).text.splitlines() if "=" in line)
    assert not [name for name in env if name.startswith("CIRCLET")]
    assert "super-secret-runner-token" not in task.step(0).text
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["JOB_VAR"] == "step-wins"
    assert env["STEP_VAR"] == "step"
    assert env["CIRCLE_JOB"] == "build"
    assert env["LANG"] == "C.UTF-8"
    assert env["HOME"].endswith("/home")
    assert env["PATH"].split(":")[1:] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".split(
        ":"
    )
    assert env["BASH_ENV"] and env["SHELL"] == "/bin/bash"


async def test_notices_open_the_first_step_output(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("echo one"), run_step("echo two"), notices=["No Docker engine: running on the host"]
        )
    )
    assert task.step(0).text == "No Docker engine: running on the host\none\n"
    assert task.step(1).text == "two\n"


async def test_secrets_are_masked_even_when_split_across_reads(run_tasks: RunTasks) -> None:
    command = "printf 'token=hunter'; sleep 0.3; printf '22-secret\\n'; echo tiny=abc; echo flag=true"
    [task] = await run_tasks(make_assignment(run_step(command), secrets=["hunter22-secret", "abc", "true"]))
    assert task.step(0).text == "token=********\ntiny=abc\nflag=true\n"


async def test_task_directory_is_removed_afterwards(run_tasks: RunTasks, work_dir: Path) -> None:
    [task] = await run_tasks(make_assignment(run_step("touch ~/project/file")))
    assert task.status == "success"
    assert task_dirs(work_dir) == []


async def test_read_only_files_are_removed_too(run_tasks: RunTasks, work_dir: Path) -> None:
    [task] = await run_tasks(
        make_assignment(run_step("mkdir -p ~/go/mod/x && touch ~/go/mod/x/f && chmod -R a-w ~/go"))
    )
    assert task.status == "success"
    assert task_dirs(work_dir) == []


async def test_retried_uploads_do_not_duplicate_output(run_tasks: RunTasks, server: FakeServer) -> None:
    server.fail_after_output = 2
    [task] = await run_tasks(make_assignment(run_step("echo one; sleep 0.3; echo two")))
    assert task.status == "success"
    assert task.step(0).text == "one\ntwo\n"
    assert len(task.step(0).uploads) == 4


async def test_large_output_is_streamed_in_bounded_chunks(run_tasks: RunTasks) -> None:
    size = 5_000_000
    [task] = await run_tasks(make_assignment(run_step(f"head -c {size} /dev/zero | tr '\\0' a")))
    step = task.step(0)
    assert task.status == "success"
    assert len(step.output) == size and step.output.count(b"a") == size
    assert max(n for _, n in step.uploads) <= output.BATCH_TARGET_BYTES + executor.CHUNK_BYTES
    assert len(step.uploads) > 1
    offsets = [offset for offset, _ in step.uploads]
    assert offsets == sorted(offsets) and offsets[0] == 0


async def test_unknown_step_kinds_fail(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment({"type": "install_signing_bundle", "name": "Install signing bundle"})
    )
    assert task.step(0).status == "failed"
    assert task.step(0).text == "step type install_signing_bundle is not supported by this runner yet\n"
    assert task.status == "failed"


async def test_halt_ends_the_job_successfully(run_tasks: RunTasks) -> None:
    [halted, via_circleci] = await run_tasks(
        make_assignment(
            run_step("circleci-agent step halt"), run_step("echo not-run"), run_step("echo x", when="always")
        ),
        make_assignment(
            run_step("echo a"), run_step("circleci step halt; echo after-halt"), run_step("echo not-run")
        ),
    )
    assert halted.status == "success" and sorted(halted.steps) == [0]
    assert via_circleci.status == "success" and sorted(via_circleci.steps) == [0, 1]
    assert "after-halt" in via_circleci.step(1).text


async def test_halt_after_a_failure_keeps_the_job_failed(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("exit 1"),
            run_step("circleci-agent step halt", when="on_fail"),
            run_step("true", when="always"),
        )
    )
    assert task.status == "failed"
    assert sorted(task.steps) == [0, 1]


async def test_background_step_runs_alongside_and_is_killed_at_job_end(
    run_tasks: RunTasks, tmp_path: Path
) -> None:
    pid_file = tmp_path / "bg.pid"
    [task] = await run_tasks(
        make_assignment(
            run_step(f"echo $$ > {pid_file}; echo started; sleep 30", background=True),
            run_step(f"for i in $(seq 50); do [ -s {pid_file} ] && break; sleep 0.1; done; echo fg"),
        ),
        timeout_s=10,
    )
    assert task.status == "success"
    assert task.step(0).start.get("parallel") is True
    assert task.step(0).status == "success"
    assert task.step(0).text == "started\n"
    assert task.step(1).text == "fg\n"
    assert_dead(pid_file)


async def test_background_failure_fails_the_job(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(run_step("exit 4", background=True), run_step("sleep 0.5"), run_step("echo later"))
    )
    assert task.status == "failed"
    assert task.step(0).status == "failed"
    assert 2 not in task.steps


async def test_store_steps_run_after_a_failure(run_tasks: RunTasks) -> None:
    [task] = await run_tasks(
        make_assignment(
            run_step("exit 1"),
            {"type": "store_test_results", "name": "Uploading test results", "path": "x"},
            {"type": "store_artifacts", "name": "Uploading artifacts", "path": "x", "when": "on_success"},
        )
    )
    assert task.status == "failed"
    assert sorted(task.steps) == [0, 1]


async def test_a_chatty_process_left_behind_does_not_hold_the_step(
    run_tasks: RunTasks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor, "DRAIN_MAX_S", 1.5)
    pid_file = tmp_path / "chatty.pid"
    [task] = await run_tasks(
        make_assignment(
            run_step(
                f"(while true; do echo chatter; sleep 0.1; done) & echo $! > {pid_file}; echo main done"
            ),
            run_step("echo next"),
        ),
        timeout_s=12,
    )
    assert task.status == "success"
    assert "main done\n" in task.step(0).text
    assert task.step(1).text == "next\n"
    assert_dead(pid_file)


async def test_max_auto_reruns_retries_a_failing_step(run_tasks: RunTasks) -> None:
    flaky = (
        'n=$(cat ~/count 2>/dev/null || echo 0); echo $((n+1)) > ~/count; echo "try $((n+1))"; [ "$n" -ge 2 ]'
    )
    [passes, gives_up] = await run_tasks(
        make_assignment(run_step(flaky, max_auto_reruns=3)),
        make_assignment(run_step("echo try; exit 1", max_auto_reruns=1)),
    )
    assert passes.status == "success"
    assert passes.step(0).text.count("try ") == 3
    assert "attempt 3 of 4" in passes.step(0).text
    assert gives_up.status == "failed"
    assert gives_up.step(0).text.count("try\n") == 2


async def test_task_directories_are_gone_once_the_agent_stops(run_tasks: RunTasks, work_dir: Path) -> None:
    """They are removed while each task's end is reported, and the agent waits for that before it
    returns."""
    tasks = await run_tasks(
        *(make_assignment(run_step("mkdir -p deep/er && echo x > deep/er/file")) for _ in range(3)),
        concurrency=2,
    )
    assert [t.status for t in tasks] == ["success"] * 3
    assert task_dirs(work_dir) == []
