"""Secrets for ``circlet local``: contexts from a file (``--context-file``) and project environment
variables (``--env-file``, ``-e KEY=VALUE``). They are stored like any context or project variable of the
run's temporary server, so jobs get them the same way and their output masks them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from circlet.engine import Tx, contexts, envvars
from circlet.model.accounts import User

Contexts = dict[str, dict[str, str]]


class InputError(ValueError):
    """A context file, env file or ``-e`` item that cannot be read."""


def read_contexts(path: Path) -> Contexts:
    """``{context-name: {VAR: value, ...}}`` from a YAML or JSON file (JSON is YAML)."""
    try:
        text = path.read_text()
        loaded: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the context file {path}: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: want a mapping of context names to mappings of variables")
    found: Contexts = {}
    for name, variables in loaded.items():
        if not isinstance(variables, dict):
            raise InputError(f"{path}: context {name!r} wants a mapping of variables to values")
        found[str(name)] = {str(k): _scalar(path, name, k, v) for k, v in variables.items()}
    return found


def _scalar(path: Path, context: object, name: object, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise InputError(f"{path}: {context}.{name} wants a string, number or boolean")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines and ``#`` comments are skipped, ``export`` is allowed, and one
    pair of surrounding quotes is removed."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the env file {path}: {exc}") from exc
    found: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, value = _pair(stripped.removeprefix("export "), f"{path}:{number}")
        found[key] = value
    return found


def parse_env(items: list[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` items (a later one wins)."""
    return dict(_pair(item, "-e") for item in items)


def _pair(item: str, where: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"{where}: want KEY=VALUE, got {item!r}")
    value = value.strip() if where != "-e" else value
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":  # noqa: PLR2004
        value = value[1:-1]
    return key, value


@dataclass(frozen=True)
class Secrets:
    """What the run's project gets before its pipeline is triggered."""

    contexts: Contexts
    env: dict[str, str]

    @classmethod
    def read(cls, context_file: Path | None, env_file: Path | None, env: list[str]) -> Secrets:
        """Everything the options name; ``-e`` wins over the env file."""
        return cls(
            contexts=read_contexts(context_file) if context_file else {},
            env={**(read_env_file(env_file) if env_file else {}), **parse_env(env)},
        )

    async def install(self, tx: Tx, user: User, slug: str) -> None:
        """Create the contexts in the user's org and the project's variables (names are checked as the
        API checks them)."""
        org = await contexts.owner_org(
            tx, user, owner_id=None, owner_slug="/".join(slug.split("/")[:2]), owner_type=None
        )
        for name, variables in self.contexts.items():
            context = await contexts.create_context(tx, user, name, org)
            for key, value in variables.items():
                await contexts.put_variable(tx, user, context.id, key, value)
        for key, value in self.env.items():
            await envvars.set_envvar(tx, user, slug, key, value)
