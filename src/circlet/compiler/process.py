"""The 2.0-shaped expanded config, printed like ``circleci config process``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from circlet.compiler.emit import Unshared, emit

try:
    _BaseDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - no libyaml
    _BaseDumper = yaml.SafeDumper


_STR = "tag:yaml.org,2002:str"
_SCALARS: dict[type, tuple[str, Any]] = {
    bool: ("tag:yaml.org,2002:bool", lambda v: "true" if v else "false"),
    int: ("tag:yaml.org,2002:int", str),
    type(None): ("tag:yaml.org,2002:null", lambda _v: "null"),
}


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """Block style; multi-line strings as ``|`` literals.

    Plain data (what the compiler produces) is turned into nodes by one direct recursion instead of
    PyYAML's generic representer dispatch; the nodes, and so the text, are the same.
    """

    def represent_data(self, data: Any) -> Any:
        kind = type(data)
        if kind is Unshared:
            return self.represent_unshared(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style="|" if "\n" in data else None)
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            return yaml.ScalarNode(scalar[0], scalar[1](data))
        if kind is dict or kind is list:
            seen = self.represented_objects.get(id(data))
            if seen is not None:  # the same object twice: one node, so the emitter writes an alias
                return seen
            self.object_keeper.append(data)
            if kind is dict:
                node: Any = yaml.MappingNode("tag:yaml.org,2002:map", [], flow_style=False)
                self.represented_objects[id(data)] = node
                node.value = [(self.represent_data(k), self.represent_data(v)) for k, v in data.items()]
            else:
                node = yaml.SequenceNode("tag:yaml.org,2002:seq", [], flow_style=False)
                self.represented_objects[id(data)] = node
                node.value = [self.represent_data(item) for item in data]
            return node
        return super().represent_data(data)

    def represent_unshared(self, data: Any) -> Any:
        """Nodes for a tree whose repeated objects are written out each time instead of aliased."""
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style="|" if "\n" in data else None)
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            return yaml.ScalarNode(scalar[0], scalar[1](data))
        if kind is dict or kind is Unshared:
            pairs = [(self.represent_unshared(k), self.represent_unshared(v)) for k, v in data.items()]
            return yaml.MappingNode("tag:yaml.org,2002:map", pairs, flow_style=False)
        if kind is list:
            items = [self.represent_unshared(item) for item in data]
            return yaml.SequenceNode("tag:yaml.org,2002:seq", items, flow_style=False)
        return super().represent_data(data)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or not implicit[0] or implicit[1]:
            return super().resolve(kind, value, implicit)
        tag = _IMPLICIT_TAGS.get(value)
        if tag is None:
            if len(_IMPLICIT_TAGS) >= _IMPLICIT_TAGS_SIZE:
                _IMPLICIT_TAGS.clear()
            tag = _IMPLICIT_TAGS[value] = super().resolve(kind, value, implicit)
        return tag


_IMPLICIT_TAGS: dict[
    str, str
] = {}  #: plain scalar -> the tag it resolves to (the dumper's resolver is fixed)
_IMPLICIT_TAGS_SIZE = 65_536


def clear_cache() -> None:
    """Forget the remembered plain-scalar tags."""
    _IMPLICIT_TAGS.clear()


def _represent_str(dumper: Any, value: str) -> Any:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """YAML text of plain data, keys in insertion order."""
    if type(data) is dict and data:
        fast = emit(data)
        if fast is not None:
            return fast
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 16)
    return text


def processed_yaml(
    *,
    jobs: Mapping[str, Any],
    workflows: Mapping[str, list[tuple[str, dict[str, Any]]]],
    resolved_orbs: Mapping[str, str],
    source: str,
    setup: bool = False,
) -> str:
    """Render the expanded config with orb resolutions first and the original file as comments last."""
    header = "".join(
        f"# Orb '{requested}' resolved to '{requested.rsplit('@', 1)[0]}@{version}'\n"
        for requested, version in resolved_orbs.items()
    )
    body: dict[str, Any] = {"version": 2}
    if setup:
        body["setup"] = True
    body["jobs"] = Unshared(jobs)
    flows: dict[str, Any] = {"version": 2}
    for name, entries in workflows.items():
        flows[name] = {"jobs": [key if not entry else {key: entry} for key, entry in entries]}
    body["workflows"] = flows
    original = "".join(f"# {line}".rstrip() + "\n" for line in source.splitlines())
    return f"{header}{dump(body)}\n# Original config.yml file:\n{original}"
