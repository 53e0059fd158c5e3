"""A task's private directories on the runner host and the environment its steps see."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = "/bin/bash"
DEFAULT_WORKING_DIRECTORY = "~/project"
IMAGE_HOME = "/home/circleci"  #: HOME in CircleCI's convenience images
HOST_PASSTHROUGH = ("LANG", "TZ")  #: copied from the runner's environment when set
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

#: ``circleci`` and ``circleci-agent`` in a job: the runner's own interpreter, isolated (-I).
_TOOL_SCRIPT = """#!{python} -I
import sys
from pathlib import Path

from circlet.runner.jobtools import main

sys.exit(main(sys.argv[1:], halt_marker=Path({marker!r})))
"""


@dataclass(frozen=True, slots=True)
class TaskDirs:
    """``root`` holds ``home`` (the job's HOME) and ``meta`` (runner files the job does not own)."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def meta(self) -> Path:
        return self.root / "meta"

    @property
    def tools(self) -> Path:
        return self.meta / "bin"

    @property
    def scripts(self) -> Path:
        return self.meta / "scripts"

    @property
    def bash_env(self) -> Path:
        return self.meta / "bash_env"

    @property
    def halt_marker(self) -> Path:
        return self.meta / "halted"

    @classmethod
    def create(cls, work_dir: Path, task_id: str) -> TaskDirs:
        dirs = cls(work_dir.absolute() / _UNSAFE_NAME.sub("_", task_id))
        dirs.remove()  # left over from a runner that died during this task
        for path in (dirs.home, dirs.tools, dirs.scripts):
            path.mkdir(parents=True, exist_ok=True)
        dirs.bash_env.touch()
        tool = _TOOL_SCRIPT.format(python=sys.executable, marker=str(dirs.halt_marker))
        for name in ("circleci", "circleci-agent"):
            _write_script(dirs.tools / name, tool)
        return dirs

    def remove(self) -> None:
        """Delete the task's files, including read-only ones (e.g. a Go module cache)."""
        if self.root.exists():
            shutil.rmtree(self.root, onerror=_force_remove)

    def halted(self) -> bool:
        return self.halt_marker.exists()

    def resolve(self, path: str, base: Path) -> Path:
        """A job path: ``~`` is the job's home, relative paths are under ``base``.

        CircleCI images run as ``circleci`` with HOME ``/home/circleci``, so configs often spell
        ``~/project`` as ``/home/circleci/project``; that prefix also means the job's home.
        """
        for home in ("~", IMAGE_HOME):
            if path == home or path.startswith(home + "/"):
                return self.home / path[len(home) + 1 :]
        return base / path


def job_environment(
    job_env: Mapping[str, str], dirs: TaskDirs, host_env: Mapping[str, str]
) -> dict[str, str]:
    """The complete environment of the task's processes: the server's job environment plus HOME,
    PATH (with the job's tools first), BASH_ENV, SHELL, USER and LANG/TZ from the host.
    Nothing else from the runner's own environment leaks in."""
    env = {
        "HOME": str(dirs.home),
        "PATH": DEFAULT_PATH,
        "BASH_ENV": str(dirs.bash_env),
        "SHELL": DEFAULT_SHELL,
        "USER": host_env.get("USER") or host_env.get("LOGNAME") or "circleci",
    }
    env |= {name: host_env[name] for name in HOST_PASSTHROUGH if name in host_env}
    env |= job_env
    return with_tools_on_path(env, dirs)


def with_tools_on_path(env: Mapping[str, str], dirs: TaskDirs) -> dict[str, str]:
    result = dict(env)
    path = result.get("PATH", DEFAULT_PATH)
    if str(dirs.tools) not in path.split(os.pathsep):
        result["PATH"] = f"{dirs.tools}{os.pathsep}{path}"
    return result


def _force_remove(func: Callable[[str], object], path: str, _exc: object) -> None:
    with contextlib.suppress(OSError):
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
            shutil.rmtree(path, onerror=_force_remove)
        else:
            os.unlink(path)


def _write_script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)
