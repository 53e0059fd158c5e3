"""``save_cache`` and ``restore_cache``.

Paths under the job's home are stored relative to it (``home/...`` in the archive) and restored into
the home of whichever task restores them; other absolute paths are stored as ``root/...`` and restored
to the same absolute path on the runner's host.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from circlet.protocol import ARCHIVE_HEADER, CacheHit, CacheSaved
from circlet.runner import archives
from circlet.runner.cache_keys import KeyTemplateError, render_key
from circlet.runner.steps._scratch import human_size, scratch_file
from circlet.runner.steps.context import StepContext, StepOutcome

HOME_PREFIX = "home/"
ROOT_PREFIX = "root/"


async def run_save_cache(ctx: StepContext) -> StepOutcome:
    try:
        key = _render(ctx, ctx.spec.get("key", ""))
    except KeyTemplateError as exc:
        await ctx.output.write_line(f"error: {exc}")
        return StepOutcome("failed", None)
    if not key:
        await ctx.output.write_line("error: save_cache needs a key")
        return StepOutcome("failed", None)
    if await ctx.transfers.get_json("/caches", params={"key": key, "exact": "true"}) is not None:
        await ctx.output.write_line(f"Skipping cache generation, cache already exists for key: {key}")
        return StepOutcome("success", 0)
    entries = await _entries(ctx)
    if not entries:
        await ctx.output.write_line("No cache paths found; nothing saved.")
        return StepOutcome("success", 0)
    return await _upload(ctx, key, entries)


async def _entries(ctx: StepContext) -> list[tuple[Path, str]]:
    entries = []
    for raw in ctx.spec.get("paths", []):
        path = ctx.dirs.resolve(raw, ctx.working_dir)
        if not path.exists() and not path.is_symlink():
            await ctx.output.write_line(f"Warning: could not find path {raw} ({path}); skipping it")
            continue
        entries.append((path, _archive_name(ctx, path)))
    return entries


def _archive_name(ctx: StepContext, path: Path) -> str:
    home = ctx.dirs.home
    if path == home or home in path.parents:
        return HOME_PREFIX + str(path.relative_to(home)) if path != home else HOME_PREFIX.rstrip("/")
    return ROOT_PREFIX + str(path).lstrip("/")


async def _upload(ctx: StepContext, key: str, entries: list[tuple[Path, str]]) -> StepOutcome:
    archive_format = archives.write_format()
    await ctx.output.write_line(f"Creating cache archive for key {key} ({archive_format})")
    started = time.monotonic()
    with scratch_file(ctx.dirs, ".tar") as archive:
        written = await asyncio.to_thread(archives.create_archive, archive, entries, archive_format)
        await ctx.output.write_line(
            f"Archived {written.files} files, {human_size(written.size_bytes)}, "
            f"in {time.monotonic() - started:.1f}s; uploading"
        )
        saved: CacheSaved = await ctx.transfers.upload(
            "/caches", archive, params={"key": key}, headers={ARCHIVE_HEADER: archive_format}
        )
    if saved["saved"]:
        await ctx.output.write_line(f"Stored cache {key} in {time.monotonic() - started:.1f}s")
    else:
        await ctx.output.write_line(f"Skipping cache generation, cache already exists for key: {key}")
    return StepOutcome("success", 0)


async def run_restore_cache(ctx: StepContext) -> StepOutcome:
    try:
        keys = [k for k in (_render(ctx, t) for t in ctx.spec.get("keys", [])) if k]
    except KeyTemplateError as exc:
        await ctx.output.write_line(f"error: {exc}")
        return StepOutcome("failed", None)
    if not keys:
        await ctx.output.write_line("error: restore_cache needs a key or keys")
        return StepOutcome("failed", None)
    params = {"key": keys, "format": archives.readable_formats()}
    hit: CacheHit | None = await ctx.transfers.get_json("/caches", params=params)
    if hit is None:
        await ctx.output.write_line("No cache is found for keys: " + ", ".join(keys))
        return StepOutcome("success", 0)
    await ctx.output.write_line(f"Found a cache at key {hit['key']} ({human_size(hit['size_bytes'])})")
    started = time.monotonic()
    with scratch_file(ctx.dirs, ".tar") as archive:
        await ctx.transfers.download(f"/caches/{hit['cache_id']}", archive)
        files = await asyncio.to_thread(
            archives.extract_archive, archive, hit["archive_format"], _placement(ctx)
        )
    await ctx.output.write_line(f"Restored {files} files in {time.monotonic() - started:.1f}s")
    return StepOutcome("success", 0)


def _placement(ctx: StepContext) -> archives.Placement:
    home = ctx.dirs.home

    def _place(name: str) -> tuple[Path, str] | None:
        if name == HOME_PREFIX.rstrip("/"):
            return home, "."
        if name.startswith(HOME_PREFIX):
            return home, name[len(HOME_PREFIX) :]
        if name.startswith(ROOT_PREFIX):
            return Path("/"), name[len(ROOT_PREFIX) :]
        return None

    return _place


def _render(ctx: StepContext, template: str) -> str:
    return render_key(template, ctx.env, resolve=lambda name: ctx.dirs.resolve(name, ctx.working_dir))
