"""Task directories are reused from task to task: a reused one must look exactly like a new one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from circlet.runner.workspace import TaskDirPool, TaskDirs, overwrite
from tests.unit.runner.conftest import RunTasks
from tests.unit.runner.fakes import make_assignment, run_step, task_dirs


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its kind, mode and (for files) content."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = "link" if stat.S_ISLNK(info.st_mode) else "dir" if stat.S_ISDIR(info.st_mode) else "file"
        content = path.read_text().replace(str(root), "<root>") if kind == "file" else ""
        found[path.relative_to(root).as_posix()] = f"{kind} {oct(stat.S_IMODE(info.st_mode))} {content}"
    return found


def test_a_reset_directory_is_the_same_as_a_new_one(tmp_path: Path) -> None:
    fresh = tree(TaskDirs.create(tmp_path / "a", "slot-1").root)
    used = TaskDirs.create(tmp_path / "b", "slot-1")
    outside = tmp_path / "outside"
    outside.write_text("not the runner's")
    # what a job may leave behind: files, read-only trees, BASH_ENV lines, a halt, scratch files,
    # a tool replaced by a link to a file outside, a step script
    (used.home / "project" / "src").mkdir(parents=True)
    (used.home / ".cache" / "go").mkdir(parents=True)
    (used.home / ".cache" / "go" / "mod").write_text("x")
    os.chmod(used.home / ".cache" / "go", 0o500)
    used.bash_env.write_text("export LEFT=1\n")
    os.chmod(used.home, 0o700)
    used.halt_marker.touch()
    (used.meta / "transfers").mkdir()
    (used.tools / "circleci").unlink()
    (used.tools / "circleci").symlink_to(outside)
    overwrite(used.scripts / "step-0.sh", b"echo hello\n")
    used.reset()
    after = tree(used.root)
    assert after.pop("meta/scripts/step-0.sh") == "file 0o644 echo hello\n"  # overwritten by its next step
    assert after == fresh
    assert outside.read_text() == "not the runner's"


def test_an_empty_default_working_directory_is_kept_unless_the_job_works_elsewhere(tmp_path: Path) -> None:
    dirs = TaskDirs.create(tmp_path, "slot-1")
    dirs.make_working_dir(dirs.default_working_dir)
    dirs.reset()
    assert dirs.default_working_dir.is_dir()
    dirs.make_working_dir(dirs.home / "app")
    assert sorted(p.name for p in dirs.home.iterdir()) == ["app"]


def test_overwrite_changes_a_file_in_place_and_sets_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "script"
    overwrite(path, b"a much longer first version\n", mode=0o755)
    inode = path.stat().st_ino
    overwrite(path, b"short\n", mode=0o700)
    assert path.read_bytes() == b"short\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert path.stat().st_ino == inode


async def test_the_pool_hands_out_reset_directories_and_removes_them_all(tmp_path: Path) -> None:
    pool = TaskDirPool(tmp_path)
    first, second = await pool.take(), await pool.take()
    assert first.root != second.root
    (first.home / "junk").write_text("left behind")
    pool.give_back(first)
    await pool.aclose()  # waits for the reset, then removes both
    assert list(tmp_path.iterdir()) == []
    pool = TaskDirPool(tmp_path)
    again = await pool.take()
    (again.home / "junk").write_text("left behind")
    pool.give_back(again)
    while (reused := await pool.take()) is not again:
        pool.give_back(reused)  # the reset had not finished: a new directory came instead
    assert not (reused.home / "junk").exists()
    await pool.aclose()


async def test_each_task_starts_with_a_clean_home_and_bash_env(run_tasks: RunTasks, work_dir: Path) -> None:
    look = run_step('ls -A ~; ls -A ~/project; echo "LEFT=${LEFT:-unset}"', name="look")
    litter = run_step(
        "touch ~/project/file ~/.dotfile && mkdir -p ~/ro/x && chmod -R a-w ~/ro"
        " && echo 'export LEFT=1' >> $BASH_ENV",
        name="litter",
    )
    tasks = await run_tasks(*(make_assignment(look, litter) for _ in range(4)), concurrency=1)
    assert [t.status for t in tasks] == ["success"] * 4
    assert {t.step(0).text for t in tasks} == {"project\nLEFT=unset\n"}
    assert task_dirs(work_dir) == []
