"""Workflows for one trigger: ``when``/``unless``, job instances, filters and the requires graph."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from circlet.compiler import conditions, filters, graph, jobs
from circlet.compiler.expand import Expander, Where
from circlet.compiler.invocations import Instance, job_type, read_entries
from circlet.compiler.namespaces import find
from circlet.errors import Problem
from circlet.model.configs import JobDefinition, WorkflowJob, WorkflowPlan
from circlet.model.statuses import JobType

SCHEDULED_SOURCES = frozenset({"scheduled_pipeline", "schedule"})
MAX_AUTO_RERUNS = 5  #: CircleCI's limit for a workflow's max_auto_reruns


@dataclass(frozen=True, slots=True)
class Trigger:
    """What started the pipeline, as filters see it."""

    branch: str
    tag: str
    source: str
    lookup: Callable[[str], Any]


@dataclass(slots=True)
class JobRegistry:
    """Expanded jobs keyed by instance name; a different body under a taken name gets a suffix."""

    raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    definitions: dict[str, JobDefinition] = field(default_factory=dict)

    def register(self, name: str, job: dict[str, Any], make: Callable[[str], JobDefinition]) -> str:
        key, number = name, 1
        while key in self.raw and self.raw[key] != job:
            number += 1
            key = f"{name}-{number}"
        if key not in self.raw:
            self.raw[key] = job
            self.definitions[key] = make(key)
        return key


@dataclass(slots=True)
class WorkflowPlanner:
    """Plans every workflow; problems of workflows that do not run become warnings (lazy validation)."""

    expander: Expander
    trigger: Trigger
    registry: JobRegistry = field(default_factory=JobRegistry)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    processed: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    used_refs: set[str] = field(default_factory=set)  #: job names invoked by any workflow

    def plan(self, name: str, body: Any, original: Any, where: Where) -> WorkflowPlan:
        if not isinstance(body, dict):
            self.problems.append(where.problem(f"workflow '{name}' must be a map with 'jobs'"))
            return WorkflowPlan(name=name, runs=False, skip_reason="the workflow is invalid")
        original = original if isinstance(original, dict) else {}
        problems: list[Problem] = []
        skip = self.gate(body, original, where, problems)
        job_problems: list[Problem] = []
        instances = read_entries(body.get("jobs"), where.at("jobs"), job_problems)
        planned = self.plan_jobs(name, instances, job_problems)
        reruns = _max_auto_reruns(body.get("max_auto_reruns"), where, job_problems)
        (problems if skip is None else self.warnings).extend(job_problems)
        self.problems.extend(problems)
        return WorkflowPlan(
            name=name, jobs=tuple(planned), runs=skip is None, skip_reason=skip, max_auto_reruns=reruns
        )

    def gate(
        self, body: dict[str, Any], original: dict[str, Any], where: Where, problems: list[Problem]
    ) -> str | None:
        for key, wanted in (("when", True), ("unless", False)):
            if key not in body:
                continue
            try:
                holds = conditions.evaluate(body[key], self.trigger.lookup)
            except conditions.ConditionError as exc:
                problems.append(where.at(key).problem(str(exc)))
                return f"{key} could not be evaluated"
            if holds != wanted:
                shown = conditions.describe(original.get(key, body[key]))
                return f"{key}: {shown} is {'false' if wanted else 'true'}"
        if body.get("triggers") is not None and self.trigger.source not in SCHEDULED_SOURCES:
            return "it has triggers, so it runs only on its schedule"
        return None

    def plan_jobs(
        self, workflow: str, instances: list[Instance], problems: list[Problem]
    ) -> list[WorkflowJob]:
        edges, statuses = self.resolve_requires(workflow, instances, problems)
        cycle = graph.find_cycle(edges)
        if cycle is not None:
            first = next(i for i in instances if i.name == cycle[0])
            problems.append(first.where.problem(f"Cycle in workflow '{workflow}': {' -> '.join(cycle)}"))
            edges = {name: [] for name in edges}
        reasons = {instance.name: self.filter_reason(instance, problems) for instance in instances}
        reasons = graph.propagate_not_run(edges, reasons)
        planned = []
        entries: list[tuple[str, dict[str, Any]]] = []
        for instance in instances:
            key, kind = self.expand(instance, problems)
            planned.append(
                WorkflowJob(
                    name=instance.name,
                    job=key,
                    type=kind,
                    requires=tuple(edges[instance.name]),
                    requires_statuses=statuses[instance.name],
                    contexts=instance.contexts,
                    serial_group=instance.serial_group,
                    runs=reasons[instance.name] is None,
                    skip_reason=reasons[instance.name],
                )
            )
            key_or_name = key or instance.name
            entries.append(
                (key_or_name, _processed_entry(instance, edges[instance.name], key_or_name, inline=not key))
            )
        self.processed[workflow] = entries
        return planned

    def resolve_requires(
        self, workflow: str, instances: list[Instance], problems: list[Problem]
    ) -> tuple[dict[str, list[str]], dict[str, dict[str, tuple[str, ...]]]]:
        names: dict[str, list[str]] = {}
        for instance in instances:
            names.setdefault(instance.name, []).append(instance.name)
            if instance.alias is not None and instance.alias != instance.name:
                names.setdefault(instance.alias, []).append(instance.name)
        edges: dict[str, list[str]] = {}
        statuses: dict[str, dict[str, tuple[str, ...]]] = {}
        for instance in instances:
            edges[instance.name], statuses[instance.name] = [], {}
            try:
                requirements = graph.parse_requires(instance.requires)
            except graph.GraphError as exc:
                problems.append(instance.where.at("requires").problem(str(exc)))
                continue
            for requirement in requirements:
                targets = [t for t in names.get(requirement.name, []) if t != instance.name]
                if not targets:
                    problems.append(
                        instance.where.at("requires").problem(
                            f"Job '{instance.name}' requires '{requirement.name}', which is the name of 0 other "
                            f"jobs in workflow '{workflow}'"
                        )
                    )
                for target in targets:
                    if target not in statuses[instance.name]:
                        edges[instance.name].append(target)
                    statuses[instance.name][target] = requirement.statuses
        return edges, statuses

    def filter_reason(self, instance: Instance, problems: list[Problem]) -> str | None:
        trigger = self.trigger
        try:
            return filters.evaluate(
                instance.filters, branch=trigger.branch, tag=trigger.tag, lookup=trigger.lookup
            )
        except filters.FilterError as exc:
            problems.append(instance.where.at("filters").problem(str(exc)))
            return "its filters are invalid"

    def expand(self, instance: Instance, problems: list[Problem]) -> tuple[str, JobType]:
        """The key of the instance's expanded job in the registry ("" for none) and its type: an
        invocation's ``type: approval``/``no-op`` needs no definition; a definition's ``type`` counts."""
        if instance.type is not JobType.BUILD:
            return "", instance.type
        expander = self.expander
        ref = (
            instance.override_with
            if instance.override_with and find(expander.root, "jobs", instance.override_with)
            else instance.ref
        )
        self.used_refs.add(ref)
        element = find(expander.root, "jobs", ref)
        if element is None:
            problems.append(instance.where.problem(f"Cannot find a definition for job named {ref}"))
            return "", JobType.BUILD
        before = len(expander.problems)
        job = expander.expand_job(
            element,
            instance.args,
            instance.where,
            pre_steps=instance.pre_steps,
            post_steps=instance.post_steps,
        )
        home = Where(element.owner.doc, element.path)
        job_problems = expander.problems[before:]
        del expander.problems[before:]

        def make(key: str) -> JobDefinition:
            return jobs.build_definition(
                key, job or {}, lambda m, p: job_problems.append(home.at(*p).problem(m))
            )

        kind = JobType.BUILD
        if job is not None and "type" in job:
            kind = job_type(job["type"], home.at("type"), job_problems)
        key = "" if job is None else self.registry.register(instance.name, job, make)
        problems.extend(job_problems)
        return key, kind


def _max_auto_reruns(value: Any, where: Where, problems: list[Problem]) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AUTO_RERUNS:
        problems.append(
            where.at("max_auto_reruns").problem(
                f"max_auto_reruns must be an integer from 1 to {MAX_AUTO_RERUNS}; got {value!r}"
            )
        )
        return 0
    return value


def _processed_entry(instance: Instance, requires: list[str], key: str, *, inline: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if key != instance.name:
        entry["name"] = instance.name
    if instance.type is not JobType.BUILD and inline:
        entry["type"] = instance.type.value
    if requires:
        entry["requires"] = list(requires)
    if instance.contexts:
        entry["context"] = list(instance.contexts)
    if instance.filters is not None:
        entry["filters"] = instance.filters
    if instance.serial_group is not None:
        entry["serial-group"] = instance.serial_group
    return entry


def trigger_lookup(values: Mapping[str, Any], parameters: Mapping[str, Any]) -> Callable[[str], Any]:
    """Names for expressions: ``pipeline.parameters.x`` and the pipeline values."""

    def lookup(name: str) -> Any:
        if name.startswith("pipeline.parameters."):
            return parameters.get(name[len("pipeline.parameters.") :])
        return values.get(name)

    return lookup
