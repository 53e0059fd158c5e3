"""Tar archives for caches and workspaces, written to and read from files (blocking: run in a thread).

Archives are written as tar + zstd (level 3) with the ``zstandard`` package, or with ``tarfile``'s own
zstd (Python 3.14+); only where neither exists, as tar + gzip at level 1. The tar stream goes through
the compressor in 1 MiB blocks, so memory stays flat. Callers run these functions in a worker thread
(``asyncio.to_thread``); zstd releases the GIL while it compresses, so the event loop (heartbeats,
output) stays free. zstd's own worker threads are not used: on a busy 2-CPU host they were slower and
cost about 70 MB more memory per archive. Both formats are read, so
archives written by older runners (gzip) restore as before; the format travels with the archive
(``X-Circlet-Archive``). Extraction goes through ``tarfile``'s ``tar`` filter: no member lands outside
its destination, and setuid/setgid bits and group/other write bits are dropped.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import zstandard
except ImportError:  # pragma: no cover - a dependency; kept optional for runners installed by hand
    zstandard = None  # type: ignore[assignment]

GZIP_LEVEL = 1  # fast: caches are mostly already-compressed or large trees where speed wins
ZSTD_LEVEL = 3  # zstd's default: fast, a better ratio than gzip -1, and incompressible blocks pass through
#: Bytes tar copies at once between a file and the (de)compressor. Tar runs in its plain mode on top of
#: zstandard's streams (which seek forward only, all tar needs): its own stream mode re-slices a buffer
#: on every read and write, which costs a copy of that buffer per small file.
BLOCK = 1 << 20
_TARFILE_ZSTD = "zst" in tarfile.TarFile.OPEN_METH
_ZSTD = zstandard is not None or _TARFILE_ZSTD
_MODES = {"tar+gzip": "gz", "tar+zstd": "zst"}

#: Where an archive member goes: (destination directory, name under it), or None to skip it.
Placement = Callable[[str], tuple[Path, str] | None]


def write_format() -> str:
    return "tar+zstd" if _ZSTD else "tar+gzip"


def readable_formats() -> list[str]:
    return ["tar+gzip", "tar+zstd"] if _ZSTD else ["tar+gzip"]


@dataclass(frozen=True, slots=True)
class Written:
    files: int
    size_bytes: int


def create_archive(dest: Path, entries: Iterable[tuple[Path, str]], archive_format: str) -> Written:
    """Write ``(path on disk, name in the archive)`` entries, directories recursively, to ``dest``."""
    files = 0
    with _writer(dest, archive_format) as archive:
        for source, name in entries:
            archive.add(source, arcname=name, recursive=True)
            files += _count_files(source)
    return Written(files=files, size_bytes=dest.stat().st_size)


@contextlib.contextmanager
def _writer(dest: Path, archive_format: str) -> Iterator[tarfile.TarFile]:
    if archive_format == "tar+zstd" and zstandard is not None:
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        with (
            dest.open("wb") as raw,
            compressor.stream_writer(raw, write_size=BLOCK, closefd=False) as packed,
            tarfile.TarFile(fileobj=packed, mode="w") as archive,
        ):
            yield _in_blocks(archive)
        return
    mode = _MODES[archive_format]
    kwargs: dict[str, Any] = {"compresslevel": GZIP_LEVEL} if mode == "gz" else {}
    with tarfile.open(dest, f"w:{mode}", **kwargs) as archive:  # type: ignore[call-overload]
        yield _in_blocks(archive)


@contextlib.contextmanager
def _reader(src: Path, archive_format: str) -> Iterator[tarfile.TarFile]:
    if archive_format == "tar+zstd" and zstandard is not None:
        decompressor = zstandard.ZstdDecompressor()
        with (
            src.open("rb") as raw,
            decompressor.stream_reader(raw, read_size=BLOCK, closefd=False) as unpacked,
            tarfile.TarFile(fileobj=unpacked, mode="r") as archive,
        ):
            yield _in_blocks(archive)
        return
    with tarfile.open(src, f"r:{_MODES[archive_format]}") as archive:  # type: ignore[call-overload]
        yield _in_blocks(archive)


def _in_blocks(archive: tarfile.TarFile) -> tarfile.TarFile:
    """Copy member data in BLOCK-sized pieces (``copybufsize``, not in typeshed's stubs)."""
    archive.copybufsize = BLOCK  # type: ignore[attr-defined]
    return archive


def extract_archive(src: Path, archive_format: str, place: Placement) -> int:
    """Unpack ``src`` member by member where ``place`` says; returns the number of files written."""
    files = 0
    with _reader(src, archive_format) as archive:
        for member in archive:
            placed = _placed(member, place)
            if placed is None:
                continue
            base, renamed = placed
            base.mkdir(parents=True, exist_ok=True)
            archive.extract(renamed, base, filter="tar")
            files += member.isfile()
    return files


def into(base: Path) -> Placement:
    """Every member under ``base``, with its name unchanged."""
    return lambda name: (base, name)


def _placed(member: tarfile.TarInfo, place: Placement) -> tuple[Path, tarfile.TarInfo] | None:
    where = place(member.name)
    if where is None:
        return None
    base, name = where
    changes: dict[str, str] = {"name": name}
    if member.islnk():  # a hard link names another member: move that name the same way
        target = place(member.linkname)
        if target is None or target[0] != base:
            return None
        changes["linkname"] = target[1]
    return base, member.replace(**changes, deep=False)  # type: ignore[arg-type]


def _count_files(source: Path) -> int:
    if not source.is_dir() or source.is_symlink():
        return 1
    return sum(len(names) for _, _, names in os.walk(source))
