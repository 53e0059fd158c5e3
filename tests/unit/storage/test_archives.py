"""Cache and workspace archives: what goes in comes back out, and nothing lands outside its place."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from circlet.runner import archives


def test_runners_write_zstd_and_read_both() -> None:
    assert archives.write_format() == "tar+zstd", "zstandard is a dependency: pip install -e '.[test]'"
    assert archives.readable_formats() == ["tar+gzip", "tar+zstd"]


@pytest.mark.parametrize("archive_format", ["tar+zstd", "tar+gzip"])
def test_round_trip_with_symlinks_and_modes(tmp_path: Path, archive_format: str) -> None:
    src = tmp_path / "src"
    (src / "venv" / "bin").mkdir(parents=True)
    (src / "venv" / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    (src / "venv" / "bin" / "tool").chmod(0o755)
    (src / "venv" / "bin" / "python").symlink_to("/usr/bin/python3")  # venvs link outside themselves
    archive = tmp_path / "a.tar"
    (src / "venv" / "bin" / "tool-link").hardlink_to(src / "venv" / "bin" / "tool")
    written = archives.create_archive(archive, [(src / "venv", "venv")], archive_format)
    assert written.files == 3 and written.size_bytes == archive.stat().st_size
    out = tmp_path / "out"
    files = archives.extract_archive(archive, archive_format, archives.into(out))
    assert files == 1  # the symlink is not a regular file, nor is the hard link
    assert (out / "venv" / "bin" / "tool-link").read_text() == "#!/bin/sh\necho hi\n"
    assert (out / "venv" / "bin" / "tool").read_text() == "#!/bin/sh\necho hi\n"
    assert (out / "venv" / "bin" / "tool").stat().st_mode & 0o777 == 0o755
    assert (out / "venv" / "bin" / "python").readlink() == Path("/usr/bin/python3")


def test_members_cannot_escape(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"pwned"
        info = tarfile.TarInfo("../escaped")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(tarfile.OutsideDestinationError):
        archives.extract_archive(archive, "tar+gzip", archives.into(tmp_path / "out"))
    assert not (tmp_path / "escaped").exists()


def test_archives_of_other_writers_restore(tmp_path: Path) -> None:
    """A tar+gzip archive as older runners wrote it (``tarfile`` ``w:gz``), and a tar+zstd one made by
    the ``tar`` and ``zstd`` commands (so the format is plain zstd, not only what we write)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "old.txt").write_text("from gzip\n")
    with tarfile.open(tmp_path / "old.tgz", "w:gz", compresslevel=1) as tar:
        tar.add(tmp_path / "src" / "old.txt", arcname="data/old.txt")
    assert archives.extract_archive(tmp_path / "old.tgz", "tar+gzip", archives.into(tmp_path / "a")) == 1
    assert (tmp_path / "a" / "data" / "old.txt").read_text() == "from gzip\n"

    if shutil.which("zstd") is None:
        pytest.skip("no zstd command")
    (tmp_path / "src" / "big.bin").write_bytes(bytes(range(256)) * 40_000)  # spans several zstd blocks
    tar_file = tmp_path / "cli.tar"
    subprocess.run(["tar", "-cf", str(tar_file), "-C", str(tmp_path / "src"), "."], check=True)
    subprocess.run(["zstd", "-q", "-19", str(tar_file), "-o", str(tmp_path / "cli.tar.zst")], check=True)
    out = tmp_path / "b"
    assert archives.extract_archive(tmp_path / "cli.tar.zst", "tar+zstd", archives.into(out)) == 2
    assert (out / "big.bin").read_bytes() == bytes(range(256)) * 40_000


def test_a_large_member_streams_through(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(3 * archives.BLOCK + 123))  # more than a few blocks, not a multiple
    archives.create_archive(tmp_path / "a.tzst", [(blob, "blob")], "tar+zstd")
    archives.extract_archive(tmp_path / "a.tzst", "tar+zstd", archives.into(tmp_path / "out"))
    assert (tmp_path / "out" / "blob").read_bytes() == blob.read_bytes()
