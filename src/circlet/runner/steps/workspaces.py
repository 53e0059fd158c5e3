"""``persist_to_workspace`` and ``attach_workspace``: layers stored on the server, so downstream jobs
on any runner see them."""

from __future__ import annotations

import asyncio
import glob
from pathlib import Path

from circlet.protocol import ARCHIVE_HEADER, WorkspaceLayers
from circlet.runner import archives
from circlet.runner.steps._scratch import human_size, scratch_file
from circlet.runner.steps.context import StepContext, StepOutcome

LISTED_NAMES = 20  # persisted names shown in the step output


async def run_persist(ctx: StepContext) -> StepOutcome:
    root = ctx.dirs.resolve(ctx.spec.get("root") or ".", ctx.working_dir)
    if not root.is_dir():
        await ctx.output.write_line(f"error: the workspace root {root} is not a directory")
        return StepOutcome("failed", None)
    names, missing = _matches(root, ctx.spec.get("paths", []))
    for pattern in missing:
        await ctx.output.write_line(f"error: {pattern!r} matches nothing under {root}")
    if missing or not names:
        if not missing:
            await ctx.output.write_line("error: persist_to_workspace needs paths")
        return StepOutcome("failed", None)
    archive_format = archives.write_format()
    with scratch_file(ctx.dirs, ".tar") as archive:
        entries = [(root / name, name) for name in names]
        written = await asyncio.to_thread(archives.create_archive, archive, entries, archive_format)
        await ctx.output.write_line(
            f"Persisting {written.files} files ({human_size(written.size_bytes)}) from {root}: "
            + ", ".join(names[:LISTED_NAMES])
            + (" ..." if len(names) > LISTED_NAMES else "")
        )
        await ctx.transfers.upload(
            f"/steps/{ctx.index}/workspace", archive, headers={ARCHIVE_HEADER: archive_format}
        )
    await ctx.output.write_line("Workspace layer stored")
    return StepOutcome("success", 0)


def _matches(root: Path, patterns: list[str]) -> tuple[list[str], list[str]]:
    """Names under ``root`` matched by each glob (``*`` stays in a path segment, like Go's
    filepath.Match; a directory brings everything under it), and the patterns that matched nothing."""
    names: list[str] = []
    missing: list[str] = []
    for pattern in patterns:
        cleaned = pattern.strip().lstrip("./") if pattern.strip() not in (".", "./") else "."
        found = sorted(glob.glob(cleaned, root_dir=root, include_hidden=True)) if cleaned else []
        if cleaned == ".":
            found = ["."]
        if not found:
            missing.append(pattern)
        names.extend(name for name in found if name not in names)
    return names, missing


async def run_attach(ctx: StepContext) -> StepOutcome:
    at = ctx.dirs.resolve(ctx.spec.get("at") or ".", ctx.working_dir)
    listing: WorkspaceLayers = await ctx.transfers.get_json("/workspace")
    layers = listing["layers"]
    if not layers:
        await ctx.output.write_line("No workspace layers: no upstream job persisted to the workspace")
        return StepOutcome("success", 0)
    at.mkdir(parents=True, exist_ok=True)
    total = 0
    for layer in layers:
        await ctx.output.write_line(
            f"Attaching layer from job {layer['job_name']} (node {layer['node_index']}, "
            f"{human_size(layer['size_bytes'])})"
        )
        with scratch_file(ctx.dirs, ".tar") as archive:
            await ctx.transfers.download(f"/workspace/{layer['layer_id']}", archive)
            total += await asyncio.to_thread(
                archives.extract_archive, archive, layer["archive_format"], archives.into(at)
            )
    await ctx.output.write_line(f"Attached {len(layers)} layers ({total} files) at {at}")
    return StepOutcome("success", 0)
