"""Orb references, version resolution and orb sources."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

_REF = re.compile(r"^(?P<ns>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)@(?P<version>\S+)$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_PARTIAL = re.compile(r"^\d+(?:\.\d+){0,2}$")


@dataclass(frozen=True, slots=True)
class OrbRef:
    """An orb as referenced in a config: ``namespace/name@version`` (version as written)."""

    namespace: str
    name: str
    version: str  #: "1.2.3", "1", "1.2", "volatile" or "dev:<label>"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}@{self.version}"

    @property
    def slug(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ResolvedOrb:
    """An orb found by an :class:`OrbSource`: the exact version and its YAML text."""

    ref: OrbRef
    version: str
    source: str


class OrbSource(Protocol):
    """Where the compiler finds registry orbs. Synchronous: callers run the compiler in a worker thread."""

    def fetch(self, ref: OrbRef) -> ResolvedOrb | None: ...


def parse_orb_ref(text: str) -> OrbRef | None:
    """``"circleci/node@5.1"`` -> OrbRef, or None when the text is not a registry reference."""
    match = _REF.match(text.strip())
    if match is None:
        return None
    return OrbRef(namespace=match["ns"], name=match["name"], version=match["version"])


def _semver(version: str) -> tuple[int, int, int] | None:
    match = _SEMVER.match(version)
    if match is None:
        return None
    return (int(match[1]), int(match[2]), int(match[3]))


def resolve_version(requested: str, available: Iterable[str]) -> str | None:
    """Pick the version CircleCI would: exact ``X.Y.Z``, newest ``X.*``/``X.Y.*``, newest for ``volatile``.

    ``dev:<label>`` versions match only exactly. Returns None when nothing fits.
    """
    versions = list(available)
    if requested.startswith("dev:"):
        return requested if requested in versions else None
    released = sorted(((parsed, v) for v in versions if (parsed := _semver(v)) is not None), reverse=True)
    if requested == "volatile":
        return released[0][1] if released else None
    if not _PARTIAL.match(requested):
        return None
    wanted = tuple(int(part) for part in requested.split("."))
    for parsed, version in released:
        if parsed[: len(wanted)] == wanted:
            return version
    return None


class DictOrbSource:
    """An in-memory orb registry: ``{"ns/name@X.Y.Z": yaml_text}``, resolving versions like CircleCI."""

    def __init__(self, orbs: Mapping[str, str] | None = None) -> None:
        self._orbs: dict[str, dict[str, str]] = {}
        for key, text in (orbs or {}).items():
            self.add(key, text)

    def add(self, key: str, text: str) -> None:
        """Register ``text`` as ``ns/name@version``."""
        ref = parse_orb_ref(key)
        if ref is None:
            raise ValueError(f"not an orb reference: {key!r} (expected namespace/name@version)")
        self._orbs.setdefault(ref.slug, {})[ref.version] = text

    def fetch(self, ref: OrbRef) -> ResolvedOrb | None:
        versions = self._orbs.get(ref.slug, {})
        version = resolve_version(ref.version, versions)
        if version is None:
            return None
        return ResolvedOrb(ref=ref, version=version, source=versions[version])

    def __len__(self) -> int:
        return sum(len(versions) for versions in self._orbs.values())
