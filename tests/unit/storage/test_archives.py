"""Cache and workspace archives: what goes in comes back out, and nothing lands outside its place."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from circlet.runner import archives


def test_round_trip_with_symlinks_and_modes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "venv" / "bin").mkdir(parents=True)
    (src / "venv" / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    (src / "venv" / "bin" / "tool").chmod(0o755)
    (src / "venv" / "bin" / "python").symlink_to("/usr/bin/python3")  # venvs link outside themselves
    archive = tmp_path / "a.tar"
    written = archives.create_archive(archive, [(src / "venv", "venv")], archives.write_format())
    assert written.files == 2 and written.size_bytes == archive.stat().st_size
    out = tmp_path / "out"
    files = archives.extract_archive(archive, archives.write_format(), archives.into(out))
    assert files == 1  # the symlink is not a regular file
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
