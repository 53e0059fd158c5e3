"""The ``circleci`` and ``circleci-agent`` commands put on a job's PATH: ``step halt`` and
``tests glob | split | run``. The runner writes two small launcher scripts that call :func:`main`
with its own interpreter."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

TIMINGS_FALLBACK = "Error auto-detecting timing type, falling back to weighting by name."
TIMINGS_FILE = "timings.json"  #: written by the runner next to the halt marker (runner/timings.py)
TIMINGS_TYPES = ("filename", "classname", "testname")


def main(argv: Sequence[str], *, halt_marker: Path) -> int:
    """Entry point of both commands; ``argv`` excludes the program name."""
    if list(argv[:2]) == ["step", "halt"]:
        halt_marker.touch()
        sys.stdout.write("Halting the job: remaining steps will not run.\n")
        return 0
    if argv[:1] == ["tests"] and len(argv) > 1:
        return _tests(argv[1], list(argv[2:]), halt_marker.parent / TIMINGS_FILE)
    sys.stderr.write(f"circleci {' '.join(argv)}: not supported by this runner\n")
    return 1


def _tests(command: str, args: list[str], timings_file: Path) -> int:
    if command == "glob":
        sys.stdout.writelines(f"{path}\n" for path in glob(args, Path.cwd()))
        return 0
    if command in ("split", "run"):
        return _split_or_run(command, args, timings_file)
    sys.stderr.write(f"circleci tests {command}: not supported by this runner\n")
    return 1


def _split_or_run(command: str, args: list[str], timings_file: Path) -> int:
    parser = argparse.ArgumentParser(prog=f"circleci tests {command}")
    parser.add_argument("file", nargs="?")
    parser.add_argument("--index", type=int, default=int(os.environ.get("CIRCLE_NODE_INDEX", "0")))
    parser.add_argument("--total", type=int, default=int(os.environ.get("CIRCLE_NODE_TOTAL", "1")))
    parser.add_argument("--split-by", default="name", choices=("name", "filesize", "timings"))
    parser.add_argument("--timings-type", default="autodetect")
    parser.add_argument("--time-default", default="10s")
    parser.add_argument("--show-counts", action="store_true")
    if command == "run":
        parser.add_argument("--command", required=True)
        parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args(args)
    text = Path(options.file).read_text() if options.file else sys.stdin.read()
    names = text.split()
    weights = _file_sizes(names) if options.split_by == "filesize" else None
    if options.split_by == "timings":
        weights = timing_weights(
            names, _load_timings(timings_file), options.timings_type, _duration_ms(options.time_default)
        )
        if weights is None:
            sys.stderr.write(TIMINGS_FALLBACK + "\n")
    mine = split(names, index=options.index, total=max(1, options.total), weights=weights)
    if command == "split":
        sys.stdout.writelines(f"{name}\n" for name in mine)
        return 0
    stdin = "".join(f"{name}\n" for name in mine)
    return subprocess.run(
        ["/bin/bash", "-c", options.command], input=stdin, text=True, check=False
    ).returncode


def split(
    names: Sequence[str], *, index: int, total: int, weights: dict[str, int] | None = None
) -> list[str]:
    """This node's share: by name (sorted, dealt round-robin) or by weight (heaviest first into
    the lightest node). Every name lands on exactly one node."""
    unique = sorted(set(names))
    if weights is None:
        return unique[index::total]
    loads = [0] * total
    shares: list[list[str]] = [[] for _ in range(total)]
    for name in sorted(unique, key=lambda n: (-weights.get(n, 0), n)):
        node = loads.index(min(loads))
        loads[node] += weights.get(name, 0)
        shares[node].append(name)
    return sorted(shares[index])


def timing_weights(
    names: Sequence[str], timings: dict[str, dict[str, float]], timings_type: str, default_ms: int
) -> dict[str, int] | None:
    """Milliseconds per name from the job's stored timings (``default_ms`` for names without one),
    or None when there is no usable timing data (split by name then, as CircleCI does)."""
    keys = [name.removeprefix("./") for name in names]
    if timings_type in TIMINGS_TYPES:
        table = timings.get(timings_type, {})
    else:  # autodetect: the kind of timing whose keys match the most names
        table = max(
            (timings.get(kind, {}) for kind in TIMINGS_TYPES), key=lambda t: sum(k in t for k in keys)
        )
    if not any(key in table for key in keys):
        return None
    return {
        name: round(table[key] * 1000) if key in table else default_ms
        for name, key in zip(names, keys, strict=True)
    }


def _load_timings(path: Path) -> dict[str, dict[str, float]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _duration_ms(text: str) -> int:
    """``10s``, ``1.5m``, ``250ms`` or plain seconds, in milliseconds."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", text)
    if match is None:
        return 10_000
    scale = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[match[2] or "s"]
    return round(float(match[1]) * scale)


def _file_sizes(names: Sequence[str]) -> dict[str, int]:
    sizes = {}
    for name in names:
        try:
            sizes[name] = os.path.getsize(name)
        except OSError:
            sizes[name] = 0
    return sizes


def glob(patterns: Sequence[str], cwd: Path) -> list[str]:
    """Paths under ``cwd`` matching any pattern: ``*`` and ``?`` stay within one path segment,
    ``**`` crosses segments, ``[abc]`` and ``{a,b}`` as in a shell. Sorted, without duplicates."""
    found: set[str] = set()
    for pattern in patterns:
        for expanded in _expand_braces(pattern):
            regex = re.compile(_translate(expanded))
            found.update(path for path in _walk(_static_root(expanded), cwd) if regex.fullmatch(path))
    return sorted(found)


def _expand_braces(pattern: str) -> Iterator[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        yield pattern
        return
    for option in match[1].split(","):
        yield from _expand_braces(pattern[: match.start()] + option + pattern[match.end() :])


def _translate(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _static_root(pattern: str) -> str:
    """The leading directories of ``pattern`` that hold no wildcard."""
    parts = pattern.split("/")
    static = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        static.append(part)
    return "/".join(static)


def _walk(root: str, cwd: Path) -> Iterator[str]:
    base = cwd / root if root else cwd
    if not base.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(base):
        rel = os.path.relpath(dirpath, cwd) if not os.path.isabs(root) else dirpath
        for name in (*dirnames, *filenames):
            yield name if rel == "." else f"{rel}/{name}"
