"""Cache key templates as the runner renders them."""

from __future__ import annotations

import base64
import hashlib
import platform
from pathlib import Path

import pytest

from circlet.runner.cache_keys import KeyTemplateError, arch, render_key

ENV = {"CIRCLE_BRANCH": "feature/x", "CIRCLE_SHA1": "abc123", "CIRCLE_BUILD_NUM": "42", "LOCK_V": "7"}


def _render(template: str, tmp_path: Path) -> str:
    return render_key(template, ENV, resolve=lambda name: tmp_path / name, now=lambda: 1700000000.9)


def test_fields_environment_epoch_and_arch(tmp_path: Path) -> None:
    rendered = _render(
        "v1-{{ .Branch }}-{{.Revision}}-{{ .BuildNum }}-{{ .Environment.LOCK_V }}-{{ epoch }}-{{ arch }}",
        tmp_path,
    )
    assert rendered == f"v1-feature/x-abc123-42-7-1700000000-{arch()}"
    assert arch().startswith(f"arch1-{platform.system().lower()}-")


def test_missing_values_render_go_style(tmp_path: Path) -> None:
    assert _render("v1-{{ .Environment.NOPE }}-{{ .CheckoutKey }}", tmp_path) == "v1-<no value>-<no value>"


def test_checksum_is_base64_sha256_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_bytes(b'{"lockfileVersion": 3}\n')
    digest = base64.b64encode(hashlib.sha256(b'{"lockfileVersion": 3}\n').digest()).decode()
    assert _render('deps-{{ checksum "package-lock.json" }}', tmp_path) == f"deps-{digest}"
    assert _render("deps-{{ checksum `package-lock.json` }}", tmp_path) == f"deps-{digest}"


def test_checksum_of_a_missing_file_and_unknown_actions_fail(tmp_path: Path) -> None:
    with pytest.raises(KeyTemplateError, match=r"nope\.lock"):
        _render('deps-{{ checksum "nope.lock" }}', tmp_path)
    with pytest.raises(KeyTemplateError, match="Nonsense"):
        _render("deps-{{ .Nonsense }}", tmp_path)
