"""``store_test_results``: the JUnit XML files under ``path`` (a file, or a directory searched
recursively for ``*.xml``) go to the server as one tar archive; the server parses and records them."""

from __future__ import annotations

import asyncio
import os
import tarfile
from pathlib import Path

from circlet.protocol import TestResultsRecorded
from circlet.runner.steps._scratch import scratch_file
from circlet.runner.steps.context import StepContext, StepOutcome


async def run_store_test_results(ctx: StepContext) -> StepOutcome:
    raw = ctx.spec.get("path") or ""
    if not raw:
        await ctx.output.write_line("error: store_test_results needs a path")
        return StepOutcome("failed", None)
    source = ctx.dirs.resolve(raw, ctx.working_dir)
    files = _result_files(source)
    if not files:
        await ctx.output.write_line(f"No test results found at {raw} ({source})")
        return StepOutcome("success", 0)
    with scratch_file(ctx.dirs, ".tar.gz") as archive:
        await asyncio.to_thread(_write_archive, archive, files)
        recorded: TestResultsRecorded = await ctx.transfers.upload(
            f"/steps/{ctx.index}/test-results", archive
        )
    for problem in recorded["problems"]:
        await ctx.output.write_line(f"Warning: {problem}")
    await ctx.output.write_line(f"Recorded {recorded['cases']} tests from {recorded['files']} files")
    return StepOutcome("success", 0)


def _result_files(source: Path) -> list[tuple[Path, str]]:
    if source.is_file():
        return [(source, source.name)]
    if not source.is_dir():
        return []
    found = []
    for folder, dirs, names in os.walk(source):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if name.lower().endswith(".xml") and path.is_file():
                found.append((path, path.relative_to(source).as_posix()))
    return found


def _write_archive(dest: Path, files: list[tuple[Path, str]]) -> None:
    with tarfile.open(dest, "w:gz", compresslevel=6) as archive:
        for path, name in files:
            archive.add(path, arcname=name, recursive=False)
