"""Element lookup: the config's and each orb's commands, jobs and executors, with orbs importing orbs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from circlet.compiler import interpolate
from circlet.compiler.loader import Document, Path, first_path, load_document
from circlet.compiler.orbs import OrbSource, parse_orb_ref
from circlet.errors import ConfigInvalid, Problem

MAX_ORB_DEPTH = 10  #: orbs importing orbs
MAX_ALIAS_HOPS = 10  #: ``commands: {c: other/c}`` chains
KINDS = ("commands", "jobs", "executors")
ORB_CACHE_SIZE = 64  #: parsed orb sources kept across compiles (keyed by their text)


@dataclass(slots=True)
class Namespace:
    """The elements visible under one name prefix: the config itself, or one orb."""

    label: str  #: "" for the config, else the orb alias path (``orb/codecov``)
    doc: Document
    path: Path  #: where the body sits in ``doc``
    is_orb: bool = False
    elements: dict[str, dict[str, Any]] = field(default_factory=dict)  #: kind -> name -> body
    orbs: dict[str, Namespace] = field(default_factory=dict)

    def qualified(self, name: str) -> str:
        return f"{self.label}/{name}" if self.label else name


@dataclass(frozen=True, slots=True)
class Element:
    """A command, job or executor with the namespace it was defined in."""

    kind: str
    name: str  #: as referenced (``node/install``)
    body: Any
    owner: Namespace
    path: Path

    def problem(self, message: str, *suffix: str | int) -> Problem:
        return self.owner.doc.problem(message, (*self.path, *suffix))


def find(namespace: Namespace, kind: str, name: str) -> Element | None:
    """Resolve ``name`` (``cmd`` or ``alias/cmd``) from inside ``namespace``."""
    current, ref = namespace, name
    for _ in range(MAX_ALIAS_HOPS):
        target, local = current, ref
        while "/" in local:
            alias, local = local.split("/", 1)
            child = target.orbs.get(alias)
            if child is None:
                return None
            target = child
        body = target.elements.get(kind, {}).get(local, _MISSING)
        if body is _MISSING:
            return None
        if isinstance(body, str) and "/" in body:  # element aliasing: ``jobs: {j: orb/job}``
            current, ref = target, body
            continue
        return Element(kind=kind, name=name, body=body, owner=target, path=(*target.path, kind, local))
    return None


_MISSING = object()


@dataclass(slots=True)
class OrbLoader:
    """Fetches registry orbs once each and builds namespaces, collecting problems."""

    source: OrbSource
    pipeline: interpolate.Scope
    problems: list[Problem] = field(default_factory=list)
    resolved: dict[str, str] = field(default_factory=dict)  #: "ns/name@requested" -> exact version
    _cache: dict[str, Namespace | None] = field(default_factory=dict)

    def build(self, data: Any, doc: Document, path: Path, label: str, depth: int = 0) -> Namespace:
        namespace = Namespace(label=label, doc=doc, path=path, is_orb=bool(label))
        if not isinstance(data, dict):
            return namespace
        for kind in KINDS:
            section = data.get(kind)
            if isinstance(section, dict):
                namespace.elements[kind] = {str(k): v for k, v in section.items()}
            elif section is not None:
                self.problems.append(doc.problem(f"'{kind}' must be a map", (*path, kind)))
        orbs = data.get("orbs")
        if isinstance(orbs, dict):
            for alias, value in orbs.items():
                child_label = f"{label}/{alias}" if label else str(alias)
                child = self.import_orb(value, doc, (*path, "orbs", str(alias)), child_label, depth + 1)
                if child is not None:
                    namespace.orbs[str(alias)] = child
        elif orbs is not None:
            self.problems.append(doc.problem("'orbs' must be a map of alias to orb", (*path, "orbs")))
        return namespace

    def import_orb(self, value: Any, doc: Document, path: Path, label: str, depth: int) -> Namespace | None:
        if depth > MAX_ORB_DEPTH:
            self.problems.append(doc.problem("orbs import each other too deeply", path))
            return None
        if value is None or isinstance(value, dict):
            return self.build(value or {}, doc, path, label, depth)
        if not isinstance(value, str):
            self.problems.append(doc.problem("an orb must be a reference string or an inline map", path))
            return None
        return self.fetch(value, doc, path, label, depth)

    def fetch(self, text: str, doc: Document, path: Path, label: str, depth: int) -> Namespace | None:
        ref = parse_orb_ref(text)
        if ref is None:
            message = (
                f"URL orbs are not supported: {text}"
                if text.startswith(("http://", "https://"))
                else f"invalid orb reference {text!r}; expected namespace/name@version"
            )
            self.problems.append(doc.problem(message, path))
            return None
        key = str(ref)
        if key in self._cache:
            cached = self._cache[key]
            return None if cached is None else _relabel(cached, label)
        self._cache[key] = None  # a cycle resolves to "missing" instead of recursing forever
        resolved = self.source.fetch(ref)
        if resolved is None:
            self.problems.append(
                doc.problem(
                    f'orb "{key}" is not in this server\'s orb registry; '
                    f"publish it with: circlet orb publish {key} FILE",
                    path,
                )
            )
            return None
        self.resolved[key] = resolved.version
        namespace = self._load(resolved.source, f"orb {ref.slug}@{resolved.version}", label, depth)
        self._cache[key] = namespace
        return namespace

    def _load(self, text: str, file: str, label: str, depth: int) -> Namespace | None:
        try:
            orb_doc = parse_orb(text, file)
        except ConfigInvalid as exc:
            self.problems.extend(exc.problems)
            return None
        data = substitute_orb(orb_doc.data, orb_doc, (), self.pipeline.pipeline, self.problems)
        return self.build(data, orb_doc, (), label, depth)


def substitute_orb(
    data: Any, doc: Document, path: Path, values: Mapping[str, Any] | None, problems: list[Problem]
) -> Any:
    """An orb's source with pipeline values substituted. Pipeline parameters are not in scope inside
    orbs (inline ones included): each reference to one is a problem, as on CircleCI since mid-2026."""
    scope = interpolate.Scope(pipeline=values, pipeline_parameters={})
    out = interpolate.substitute(data, scope)
    for name in scope.missing:
        short = name.removeprefix("pipeline.parameters.")
        problems.append(
            doc.problem(
                f"Arguments referenced without declared parameters: {short} "
                "(pipeline parameters are not in scope inside orbs)",
                (*path, *first_path(data, name)),
            )
        )
    return out


@lru_cache(maxsize=ORB_CACHE_SIZE)
def parse_orb(text: str, file: str) -> Document:
    """An orb's parsed source. Cached: the same orb versions come back in compile after compile, and
    the document is only read (``interpolate.substitute`` copies its data before anything else)."""
    return load_document(text, file=file)


def _relabel(namespace: Namespace, label: str) -> Namespace:
    if namespace.label == label:
        return namespace
    return Namespace(
        label=label,
        doc=namespace.doc,
        path=namespace.path,
        is_orb=True,
        elements=namespace.elements,
        orbs=namespace.orbs,
    )
