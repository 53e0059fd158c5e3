"""Tar archives for caches and workspaces, written to and read from files (blocking: run in a thread).

The format is tar + zstd when this Python's ``tarfile`` has zstd (3.14+), else tar + gzip at a fast
level. Extraction goes through ``tarfile``'s ``tar`` filter: no member lands outside its destination,
and setuid/setgid bits and group/other write bits are dropped.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

GZIP_LEVEL = 1  # fast: caches are mostly already-compressed or large trees where speed wins
_ZSTD = "zst" in tarfile.TarFile.OPEN_METH
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
    mode = _MODES[archive_format]
    kwargs = {"compresslevel": GZIP_LEVEL} if mode == "gz" else {}
    files = 0
    with tarfile.open(dest, f"w:{mode}", **kwargs) as archive:  # type: ignore[call-overload]
        for source, name in entries:
            archive.add(source, arcname=name, recursive=True)
            files += _count_files(source)
    return Written(files=files, size_bytes=dest.stat().st_size)


def extract_archive(src: Path, archive_format: str, place: Placement) -> int:
    """Unpack ``src`` member by member where ``place`` says; returns the number of files written."""
    files = 0
    with tarfile.open(src, f"r:{_MODES[archive_format]}") as archive:  # type: ignore[call-overload]
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
