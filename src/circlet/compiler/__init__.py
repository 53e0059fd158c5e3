"""The config compiler: ``.circleci/config.yml`` (2.1) -> :class:`~circlet.model.configs.CompiledConfig`.

Pure: no I/O beyond what the caller passes in (orbs come from an :class:`OrbSource`).
"""

from __future__ import annotations

from circlet.compiler.api import compile_config, declared_parameters
from circlet.compiler.orbs import (
    DictOrbSource,
    OrbRef,
    OrbSource,
    ResolvedOrb,
    parse_orb_ref,
    resolve_version,
)
from circlet.compiler.pack import pack_orb
from circlet.compiler.plans import plan_as_dict

__all__ = [
    "DictOrbSource",
    "OrbRef",
    "OrbSource",
    "ResolvedOrb",
    "compile_config",
    "declared_parameters",
    "pack_orb",
    "parse_orb_ref",
    "plan_as_dict",
    "resolve_version",
]
