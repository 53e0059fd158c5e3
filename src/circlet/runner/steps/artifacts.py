"""``store_artifacts``: each file under ``path`` is uploaded as ``destination/<its path under path>``."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from circlet.runner.steps._scratch import human_size
from circlet.runner.steps.context import StepContext, StepOutcome

LISTED_FILES = 50  # uploads named one per line; the rest are counted


async def run_store_artifacts(ctx: StepContext) -> StepOutcome:
    raw = ctx.spec.get("path") or ""
    if not raw:
        await ctx.output.write_line("error: store_artifacts needs a path")
        return StepOutcome("failed", None)
    source = ctx.dirs.resolve(raw, ctx.working_dir)
    if not source.exists():
        await ctx.output.write_line(
            f"Warning: artifact path {raw} ({source}) does not exist; nothing uploaded"
        )
        return StepOutcome("success", 0)
    destination = ctx.spec.get("destination") or default_destination(raw)
    files = list(_files(source, destination))
    total = 0
    for number, (path, name) in enumerate(files):
        size = path.stat().st_size
        total += size
        if number < LISTED_FILES:
            await ctx.output.write_line(f"Uploading {path} -> {name} ({human_size(size)})")
        await ctx.transfers.upload(f"/steps/{ctx.index}/artifacts", path, params={"path": name})
    if len(files) > LISTED_FILES:
        await ctx.output.write_line(f"... and {len(files) - LISTED_FILES} more files")
    await ctx.output.write_line(f"Uploaded {len(files)} artifacts, {human_size(total)}")
    return StepOutcome("success", 0)


def default_destination(raw: str) -> str:
    """CircleCI lists an artifact under the ``path`` as written, without a leading ``~/``, ``./`` or ``/``."""
    text = raw.strip()
    for prefix in ("~/", "./"):
        text = text.removeprefix(prefix)
    return text.strip("/") or "artifacts"


def _files(source: Path, destination: str) -> list[tuple[Path, str]]:
    base = PurePosixPath(destination.strip("/") or ".")
    if source.is_file():
        return [(source, str(base))]
    found = []
    for folder, dirs, names in os.walk(source):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file():
                found.append((path, str(base / path.relative_to(source).as_posix())))
    return found
