"""Runs one step's process: its own process group, merged stdout/stderr read in up to 1 MiB chunks,
a no-output timeout and a deadline, SIGTERM then SIGKILL to the whole group."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import logging
import os
import signal
import sys
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

Sink = Callable[[bytes], Awaitable[None]]

CHUNK_BYTES = 1024 * 1024  # one pipe read, at most (a full pipe is taken in one read)
PIPE_BYTES = 1024 * 1024  # the pipe's buffer (Linux; the default 64 KiB makes a fast step wait on us)
STREAMING_S = 0.005  # a read this soon after the one before it: the step is streaming output, so ...
FILL_WAIT_S = 0.001  # ... the pipe is left to fill this long before the next read (fewer, larger reads)
KILL_GRACE_S = 3.0  # seconds between SIGTERM and SIGKILL
DRAIN_IDLE_S = 1.0  # seconds of silence after the main process exits before reading stops
DRAIN_MAX_S = 5.0  # seconds of reading after the main process exits, at most
GROUP_POLL_S = 0.05  # seconds between checks that a process group is gone


def wait_for_children_with_pidfds() -> None:
    """Have asyncio learn of its child processes' exits through pidfds on the event loop (Linux 5.3+).

    Python 3.11's default child watcher starts a thread per child process to wait for it: one thread
    start and two GIL hand-offs per step. From 3.12 asyncio does this by itself. Call before the event
    loop starts; a no-op where it does not apply."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # an older kernel, or a sandbox that forbids the call
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_child_watcher(asyncio.PidfdChildWatcher())


class Ending(enum.StrEnum):
    EXITED = "exited"  #: the main process exited on its own
    NO_OUTPUT = "no_output"  #: killed: no output for no_output_timeout_s
    DEADLINE = "deadline"  #: killed: the task's max runtime passed
    ABORTED = "aborted"  #: killed: the abort event was set (cancel, lease lost, job end)


@dataclass(frozen=True, slots=True)
class ProcessResult:
    ending: Ending
    exit_code: int | None  #: None when the process was killed by a signal


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    no_output_timeout_s: float | None = None
    deadline: float | None = None  #: absolute, in event-loop time
    kill_grace_s: float = KILL_GRACE_S


@dataclass(slots=True)
class _Activity:
    last_output: float
    in_sink: bool = False
    bytes_read: int = field(default=0)


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    sink: Sink,
    limits: Limits,
    abort: asyncio.Event,
    on_spawn: Callable[[int], None] | None = None,
) -> ProcessResult:
    """Run ``argv`` to completion or until a limit or ``abort`` ends it.

    Args:
        argv: program and arguments.
        cwd: working directory.
        env: the complete environment of the child.
        sink: receives every chunk of merged stdout/stderr, in order.
        limits: no-output timeout, deadline and kill grace.
        abort: when set, the process group is killed and the result is ``ABORTED``.
        on_spawn: called with the process group id as soon as the child exists.

    Returns:
        How the process ended and its exit code.
    """
    loop = asyncio.get_running_loop()
    # Our own pipe rather than PIPE: we decide when to stop reading, so a process the step left
    # running in the background cannot hold the step open (it is killed at the end of the task).
    read_fd, write_fd = os.pipe()
    _widen(read_fd)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    if on_spawn is not None:
        on_spawn(proc.pid)
    os.set_blocking(read_fd, False)
    activity = _Activity(last_output=loop.time())
    reader = asyncio.create_task(_pump(read_fd, sink, activity))
    exited = asyncio.create_task(proc.wait())
    try:
        ending = await _supervise(exited, abort, activity, limits)
        if ending is not Ending.EXITED:
            await kill_group(proc.pid, limits.kill_grace_s)
        await _drain(reader, abort, activity)
        await exited
    finally:
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGKILL)
        for task in (reader, exited):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        os.close(read_fd)
    code = proc.returncode
    return ProcessResult(ending, code if code is not None and code >= 0 else None)


async def kill_group(pgid: int, grace_s: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after ``grace_s``."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    while loop.time() < deadline:
        await asyncio.sleep(GROUP_POLL_S)
        if not group_alive(pgid):
            return
    _signal_group(pgid, signal.SIGKILL)


async def _supervise(
    exited: asyncio.Task[int], abort: asyncio.Event, activity: _Activity, limits: Limits
) -> Ending:
    loop = asyncio.get_running_loop()
    aborted = asyncio.create_task(abort.wait())
    try:
        while True:
            timeout = _next_check(loop.time(), activity, limits)
            done, _ = await asyncio.wait(
                {exited, aborted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if aborted in done:
                return Ending.ABORTED
            if exited in done:
                return Ending.EXITED
            now = loop.time()
            if limits.deadline is not None and now >= limits.deadline:
                return Ending.DEADLINE
            silent_s = now - activity.last_output
            if limits.no_output_timeout_s is not None and silent_s >= limits.no_output_timeout_s:
                return Ending.NO_OUTPUT
    finally:
        aborted.cancel()


def _next_check(now: float, activity: _Activity, limits: Limits) -> float | None:
    checks = []
    if limits.deadline is not None:
        checks.append(limits.deadline - now)
    if limits.no_output_timeout_s is not None:
        checks.append(activity.last_output + limits.no_output_timeout_s - now)
    return max(0.0, min(checks)) if checks else None


async def _pump(fd: int, sink: Sink, activity: _Activity) -> None:
    """Read the pipe straight into the chunks handed to ``sink`` (one copy, no stream buffer), and
    wait for it to be readable only when it is empty. While the step streams output (a read within
    ``STREAMING_S`` of the one before), the pipe is left to fill for ``FILL_WAIT_S`` after each
    read that emptied it (about what a fast writer needs to fill 1 MiB), so the output arrives in
    fewer, larger chunks, each one wake-up and one sink call; the first read of a burst (a line
    now and then) is never delayed."""
    loop = asyncio.get_running_loop()
    previous = -STREAMING_S
    while True:
        try:
            chunk = os.read(fd, CHUNK_BYTES)
        except BlockingIOError:
            await _readable(loop, fd)
            continue
        if not chunk:
            return
        activity.last_output = loop.time()
        activity.bytes_read += len(chunk)
        activity.in_sink = True
        await sink(chunk)
        activity.in_sink = False
        if len(chunk) < CHUNK_BYTES and activity.last_output - previous < STREAMING_S:
            await asyncio.sleep(FILL_WAIT_S)
        previous = activity.last_output


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready = loop.create_future()
    loop.add_reader(fd, ready.set_result, None)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _drain(reader: asyncio.Task[None], abort: asyncio.Event, activity: _Activity) -> None:
    """Read what the exited process left in the pipe. Processes it left running in the background
    may keep the pipe open: reading stops after DRAIN_IDLE_S of silence, or DRAIN_MAX_S in all."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DRAIN_MAX_S
    while not reader.done():
        now = loop.time()
        idle = not activity.in_sink and now - activity.last_output >= DRAIN_IDLE_S
        if abort.is_set() or idle or now >= give_up:
            break
        until = min(activity.last_output + DRAIN_IDLE_S, give_up)
        await asyncio.wait({reader}, timeout=max(GROUP_POLL_S, until - now))
    if reader.done() and not reader.cancelled():
        reader.result()  # re-raise a sink error


def _widen(pipe_fd: int) -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or over the system's pipe-max-size
        fcntl.fcntl(pipe_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        logger.warning("cannot signal process group %s", pgid)
        return False
    return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
