"""A task's private directories on the runner host and the environment its steps see."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import shutil
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = "/bin/bash"
DEFAULT_WORKING_DIRECTORY = "~/project"
IMAGE_HOME = "/home/circleci"  #: HOME in CircleCI's convenience images
HOME_MODE = 0o755  #: the mode of a task's home, new or reused
HOST_PASSTHROUGH = ("LANG", "TZ")  #: copied from the runner's environment when set
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_KEPT_IN_META = frozenset({"bin", "scripts", "bash_env"})  #: what :meth:`TaskDirs.reset` leaves in meta

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
    def create(cls, work_dir: Path, name: str) -> TaskDirs:
        dirs = cls(work_dir.absolute() / _UNSAFE_NAME.sub("_", name))
        dirs.remove()  # left over from a runner that died
        dirs._prepare()
        return dirs

    @property
    def default_working_dir(self) -> Path:
        return self.home / "project"

    def reset(self) -> None:
        """Make the directories as :meth:`create` leaves them, for the next task, without paying
        for new directories and files where old ones will do: the job's home is emptied (an empty
        default working directory may stay: see :meth:`make_working_dir`), meta loses all but the
        tools (rewritten if a job changed them), the step scripts (each step overwrites its own) and
        an emptied ``BASH_ENV``."""
        _empty(self.home, keep_if_empty=self.default_working_dir.name)
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.meta):
                if entry.name not in _KEPT_IN_META:
                    _remove_entry(entry.path)
        self._prepare()

    def make_working_dir(self, path: Path) -> None:
        """Create the job's working directory; an empty default one kept by :meth:`reset` goes if
        the job works elsewhere, so every task starts with the same home."""
        if path != self.default_working_dir:
            with contextlib.suppress(OSError):
                self.default_working_dir.rmdir()  # only if empty
        path.mkdir(parents=True, exist_ok=True)

    def _prepare(self) -> None:
        for path in (self.home, self.tools, self.scripts):
            path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, HOME_MODE)  # a job may have changed it
        overwrite(self.bash_env, b"")
        tool = _TOOL_SCRIPT.format(python=sys.executable, marker=str(self.halt_marker)).encode()
        for name in ("circleci", "circleci-agent"):
            overwrite(self.tools / name, tool, mode=0o755)

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


class TaskDirPool:
    """Task directories on a runner host, reused from task to task.

    Creating a directory or a file is the dearest file-system call here (about 0.3 ms of CPU each on
    this project's reference machine, ten of them for a task's skeleton); emptying a used one costs
    a few cheap unlinks. So a task :meth:`take` s a free set of directories (named ``slot-N``) or a
    new one, and :meth:`give_back` empties it in a worker thread, off the path of the task's report,
    before it is handed out again. :meth:`aclose` waits for that and removes every directory.
    Only one pool may use a work directory at a time (the agent holds the directory's lock).
    """

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self._free: list[TaskDirs] = []
        self._all: list[TaskDirs] = []
        self._made = 0
        self._resets: set[asyncio.Task[None]] = set()

    async def take(self) -> TaskDirs:
        if self._free:
            return self._free.pop()
        self._made += 1
        dirs = await asyncio.to_thread(TaskDirs.create, self._work_dir, f"slot-{self._made}")
        self._all.append(dirs)
        return dirs

    def give_back(self, dirs: TaskDirs) -> None:
        reset = asyncio.create_task(asyncio.to_thread(dirs.reset))
        self._resets.add(reset)
        reset.add_done_callback(functools.partial(self._reset_done, dirs))

    def _reset_done(self, dirs: TaskDirs, reset: asyncio.Task[None]) -> None:
        self._resets.discard(reset)
        if reset.cancelled():
            return
        if (exc := reset.exception()) is not None:
            logger.warning("emptying a task's directory failed: %s", exc, extra={"action": "cleanup_failed"})
            return  # never handed out again; aclose still tries to remove it
        self._free.append(dirs)

    async def aclose(self) -> None:
        """Wait for the resets in progress, then remove every directory the pool made."""
        if self._resets:
            await asyncio.gather(*self._resets, return_exceptions=True)
        made, self._all, self._free = self._all, [], []
        await asyncio.to_thread(_remove_all, made)


def _remove_all(made: list[TaskDirs]) -> None:
    for dirs in made:
        dirs.remove()


def overwrite(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Make ``path`` a regular file holding ``data``, in place when it exists.

    Cheaper than truncating and writing anew: truncating a file to zero and writing it again makes
    the file system free and allocate its blocks (about 0.1 ms of CPU here, ten times a ``pwrite``).
    A file that already holds ``data`` is only read."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except OSError:  # a symlink or a directory a job left there: never write through it
        _remove_entry(str(path))
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        info = os.fstat(fd)
        if info.st_size != len(data) or os.pread(fd, len(data) + 1, 0) != data:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        if stat.S_IMODE(info.st_mode) != mode:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _empty(directory: Path, *, keep_if_empty: str = "") -> None:
    """Delete everything in ``directory`` (including read-only files) but an empty directory named
    ``keep_if_empty``."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        os.unlink(directory)
        return
    for entry in entries:
        if entry.name == keep_if_empty and entry.is_dir(follow_symlinks=False) and _is_empty(entry.path):
            continue
        _remove_entry(entry.path)


def _is_empty(path: str) -> bool:
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def _remove_entry(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=_force_remove)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except PermissionError:
            _force_remove(os.unlink, path, None)


def _force_remove(func: Callable[[str], object], path: str, _exc: object) -> None:
    with contextlib.suppress(OSError):
        parent = os.path.dirname(path)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
            shutil.rmtree(path, onerror=_force_remove)
        else:
            os.unlink(path)
