"""Workflow job entries -> named job instances (invocation keys, matrix expansion, repeated names)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from circlet.compiler import interpolate, matrix
from circlet.compiler.expand import Where
from circlet.errors import Problem
from circlet.model.statuses import JobType

MAX_SERIAL_GROUP = 512  #: characters, after compiling
_SERIAL_GROUP = re.compile(rf"[A-Za-z0-9._/-]{{1,{MAX_SERIAL_GROUP}}}")
RESERVED_KEYS = frozenset(
    {
        "name",
        "requires",
        "context",
        "type",
        "filters",
        "matrix",
        "pre-steps",
        "post-steps",
        "serial-group",
        "override-with",
    }
)


@dataclass(frozen=True, slots=True)
class Instance:
    """One job instance of a workflow, before its job is expanded."""

    name: str
    ref: str  #: the job referenced (``build``, ``node/test``)
    where: Where
    type: JobType = JobType.BUILD
    args: dict[str, Any] = field(default_factory=dict)
    requires: Any = None
    contexts: tuple[str, ...] = ()
    serial_group: str | None = None
    filters: Any = None
    pre_steps: Any = None
    post_steps: Any = None
    override_with: str | None = None
    alias: str | None = None  #: matrix alias, usable in ``requires``
    explicit_name: bool = False


def read_entries(entries: Any, where: Where, problems: list[Problem]) -> list[Instance]:
    """Read a workflow's ``jobs`` list into instances with unique names."""
    if not isinstance(entries, list) or not entries:
        problems.append(where.problem("a workflow needs a non-empty 'jobs' list"))
        return []
    instances: list[Instance] = []
    for index, entry in enumerate(entries):
        instances.extend(_entry(entry, where.at(index), problems))
    return _unique_names(instances, problems)


def _entry(entry: Any, where: Where, problems: list[Problem]) -> list[Instance]:
    if isinstance(entry, str):
        return [Instance(name=entry, ref=entry, where=where)]
    if isinstance(entry, dict) and len(entry) > 1:
        entry = _misindented(entry)
    if not isinstance(entry, dict) or len(entry) != 1:
        problems.append(where.problem("a workflow job must be a job name or a map with one job name"))
        return []
    ((ref, invocation),) = entry.items()
    ref = str(ref)
    where = where.at(ref)
    if invocation is None:
        invocation = {}
    if not isinstance(invocation, dict):
        problems.append(where.problem(f"the invocation of job '{ref}' must be a map"))
        return []
    if "matrix" not in invocation:
        return [_instance(ref, invocation, where, problems)]
    try:
        expanded = matrix.expand(invocation["matrix"])
    except matrix.MatrixError as exc:
        problems.append(where.at("matrix").problem(str(exc)))
        return []
    rest = {k: v for k, v in invocation.items() if k != "matrix"}
    out = []
    for combination in expanded.combinations:
        scope = interpolate.Scope(matrix=combination)
        concrete = interpolate.substitute(rest, scope)
        concrete.setdefault("name", matrix.instance_name(ref, combination))
        instance = _instance(ref, {**concrete, **combination}, where, problems)
        out.append(replace(instance, alias=expanded.alias or ref, explicit_name=True))
    return out


def _misindented(entry: dict[str, Any]) -> dict[str, Any]:
    """``- job:`` followed by its keys at the same indent: one null job key plus reserved keys."""
    jobs = [key for key, value in entry.items() if value is None and key not in RESERVED_KEYS]
    if len(jobs) == 1 and all(key in RESERVED_KEYS for key in entry if key != jobs[0]):
        return {jobs[0]: {key: value for key, value in entry.items() if key != jobs[0]}}
    return entry


#: job types CircleCI knows that circlet does not run, and why
UNSUPPORTED_TYPES = {
    "release": "release jobs belong to CircleCI's deploy tracking, which circlet does not have",
    "lock": "lock jobs are not supported yet; use serial-group to run jobs one at a time",
    "unlock": "unlock jobs are not supported yet; use serial-group to run jobs one at a time",
}


def job_type(kind: Any, where: Where, problems: list[Problem]) -> JobType:
    """The :class:`JobType` of a ``type:`` value (a job's or an invocation's). Reports any other value
    and calls it a no-op, so that no definition is looked up for it and nothing else is reported."""
    if kind is None:
        return JobType.BUILD
    try:
        return JobType(kind)
    except ValueError:
        pass
    reason = UNSUPPORTED_TYPES.get(kind) if isinstance(kind, str) else None
    if reason is not None:
        problems.append(where.problem(f"job type {kind!r} is not supported: {reason}"))
    else:
        known = ", ".join([*(t.value for t in JobType), *UNSUPPORTED_TYPES])
        problems.append(where.problem(f"unknown job type {kind!r}; CircleCI's job types are {known}"))
    return JobType.NO_OP


def _instance(ref: str, invocation: dict[str, Any], where: Where, problems: list[Problem]) -> Instance:
    kind = job_type(invocation.get("type"), where.at("type"), problems)
    name = invocation.get("name")
    context = invocation.get("context")
    contexts = (
        tuple(str(c) for c in context)
        if isinstance(context, list)
        else (() if context is None else (str(context),))
    )
    serial = invocation.get("serial-group")
    if serial is not None:
        serial = _serial_group(interpolate.render(serial), where.at("serial-group"), problems)
    override = invocation.get("override-with")
    return Instance(
        name=ref if name is None else interpolate.render(name),
        ref=ref,
        where=where,
        type=kind,
        args={k: v for k, v in invocation.items() if k not in RESERVED_KEYS},
        requires=invocation.get("requires"),
        contexts=contexts,
        serial_group=serial,
        filters=invocation.get("filters"),
        pre_steps=invocation.get("pre-steps"),
        post_steps=invocation.get("post-steps"),
        override_with=None if override is None else str(override),
        explicit_name=name is not None,
    )


def _serial_group(key: str, where: Where, problems: list[Problem]) -> str:
    if not _SERIAL_GROUP.fullmatch(key):
        problems.append(
            where.problem(
                f"serial-group must be 1 to {MAX_SERIAL_GROUP} characters from A-Z a-z 0-9 . _ / -; "
                f"got {key!r}"
            )
        )
    return key


def _unique_names(instances: list[Instance], problems: list[Problem]) -> list[Instance]:
    counts = Counter(instance.name for instance in instances)
    seen: Counter[str] = Counter()
    out: list[Instance] = []
    for instance in instances:
        if counts[instance.name] == 1:
            out.append(instance)
            continue
        if instance.explicit_name:
            if seen[instance.name]:
                problems.append(
                    instance.where.problem(
                        f"the job name '{instance.name}' is used more than once in this workflow"
                    )
                )
            seen[instance.name] += 1
            out.append(instance)
            continue
        seen[instance.name] += 1
        out.append(replace(instance, name=f"{instance.name}-{seen[instance.name]}"))
    return out
