"""The compiler's entry points: compile a config for one trigger, read pipeline parameter declarations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from circlet.compiler import emit, interpolate, namespaces, process, regexes, unsupported, validate
from circlet.compiler.expand import Expander, Where
from circlet.compiler.loader import Document, first_path, load_document
from circlet.compiler.namespaces import OrbLoader, substitute_orb
from circlet.compiler.orbs import OrbSource
from circlet.compiler.parameters import bind_arguments, parse_declarations
from circlet.compiler.workflows import Trigger, WorkflowPlanner, trigger_lookup
from circlet.errors import ConfigInvalid, Problem
from circlet.model.configs import CompiledConfig, WorkflowPlan

VERSIONS = {"2": "2", "2.0": "2", "2.1": "2.1"}
IMPLICIT_WORKFLOW = "workflow"
NO_BUILD_JOB = "Cannot find a job named `build` to run in the `jobs:` section of your configuration file."


def _load_mapping(source: str, file: str) -> Document:
    doc = load_document(source, file)
    if not isinstance(doc.data, dict):
        raise ConfigInvalid([Problem("the config must be a YAML map with 'version' and 'jobs'", file=file)])
    return doc


def declared_parameters(source: str) -> dict[str, dict[str, Any]]:
    """Pipeline parameter declarations (type, default, enum, description), e.g. for a trigger form.

    Raises:
        ConfigInvalid: the text is not a YAML map.
    """
    doc = _load_mapping(source, ".circleci/config.yml")
    decls, _ = parse_declarations(doc.data.get("parameters"), pipeline=True)
    return {name: decl.as_dict() for name, decl in decls.items()}


def clear_caches(*, orbs: bool = False) -> None:
    """Forget what compiles remember across calls: each string's references, scalar renderings and
    compiled regexes, and with ``orbs`` the parsed orb sources too. The next compile then costs what a
    compile of text never seen before costs (``bench/compile.py`` measures it so)."""
    interpolate.clear_cache()
    emit.clear_cache()
    process.clear_cache()
    regexes.compile_pattern.cache_clear()
    if orbs:
        namespaces.parse_orb.cache_clear()


def _version(doc: Document, problems: list[Problem]) -> str:
    raw = doc.data.get("version")
    text = interpolate.render(raw) if isinstance(raw, int | float | str) and not isinstance(raw, bool) else ""
    version = VERSIONS.get(text.strip())
    if version is None:
        problems.append(doc.problem(f"version must be 2 or 2.1; got {raw!r}", ("version",)))
        return "2.1"
    return version


def _pipeline_parameters(doc: Document, given: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    decls, errors = parse_declarations(doc.data.get("parameters"), pipeline=True)
    for error in errors:
        problems.append(doc.problem(error.message, ("parameters", *((error.key,) if error.key else ()))))
    bound, errors = bind_arguments(decls, given, coerce_strings=True)
    for error in errors:
        problems.append(Problem(f"pipeline parameters: {error.message}", path="parameters", file=doc.file))
    return bound


def _substitute_pipeline(doc: Document, scope: interpolate.Scope, problems: list[Problem]) -> dict[str, Any]:
    """The document with pipeline values and parameters substituted; inline orbs get the values only."""
    orbs = doc.data.get("orbs")
    inline = {a: body for a, body in orbs.items() if isinstance(body, dict)} if isinstance(orbs, dict) else {}
    top = doc.data
    if inline:
        top = {**doc.data, "orbs": {a: None if a in inline else body for a, body in orbs.items()}}
    data: dict[str, Any] = interpolate.substitute(top, scope)
    if inline:
        data["orbs"] = {
            a: substitute_orb(inline[a], doc, ("orbs", a), scope.pipeline, problems) if a in inline else body
            for a, body in data["orbs"].items()
        }
    for name in scope.missing:
        short = name.removeprefix("pipeline.parameters.")
        problems.append(
            doc.problem(
                f"Arguments referenced without declared parameters: {short} (pipeline parameter)",
                first_path(doc.data, short),
            )
        )
    return data


def _workflow_items(data: dict[str, Any], doc: Document, problems: list[Problem]) -> list[tuple[str, Any]]:
    workflows = data.get("workflows")
    if workflows is not None and not isinstance(workflows, dict):
        problems.append(doc.problem("workflows must be a map", ("workflows",)))
        return []
    items = [
        (str(k), v) for k, v in (workflows or {}).items() if not (k == "version" and not isinstance(v, dict))
    ]
    if items:
        return items
    jobs = data.get("jobs")
    if isinstance(jobs, dict) and "build" in jobs:
        return [(IMPLICIT_WORKFLOW, {"jobs": ["build"]})]
    problems.append(doc.problem(NO_BUILD_JOB, ("jobs",)))
    return []


def compile_config(
    source: str,
    *,
    values: Mapping[str, Any],
    parameters: Mapping[str, Any],
    orbs: OrbSource,
    file: str = ".circleci/config.yml",
    check_schema: bool = True,
) -> CompiledConfig:
    """Compile a config for one trigger.

    Args:
        source: the config YAML text.
        values: pipeline values with dotted keys (``pipeline.git.branch`` ...); missing ones render empty.
        parameters: the trigger's pipeline parameters.
        orbs: where registry orbs come from.
        file: the config's path, used in problems.
        check_schema: also check the source against CircleCI's JSON schema (warnings only; the
            slowest part of compiling, so callers that only need the plan may turn it off).

    Raises:
        ConfigInvalid: with every problem found.
    """
    doc = _load_mapping(source, file)
    problems: list[Problem] = []
    version = _version(doc, problems)
    legacy = version == "2"
    bound = {} if legacy else _pipeline_parameters(doc, parameters, problems)
    scope = interpolate.Scope(pipeline=values, pipeline_parameters=bound)
    data = doc.data if legacy else _substitute_pipeline(doc, scope, problems)
    loader = OrbLoader(source=orbs, pipeline=interpolate.Scope(pipeline=values, pipeline_parameters=bound))
    root = loader.build({k: v for k, v in data.items() if not legacy or k != "orbs"}, doc, (), "")
    problems.extend(loader.problems)
    planner = WorkflowPlanner(
        expander=Expander(root=root, legacy=legacy),
        trigger=Trigger(
            branch=interpolate.render(values.get("pipeline.git.branch")),
            tag=interpolate.render(values.get("pipeline.git.tag")),
            source=interpolate.render(values.get("pipeline.trigger_source")),
            lookup=trigger_lookup(values, bound),
        ),
    )
    plans = _plan_all(planner, data, doc, problems)
    problems.extend(planner.problems)
    unsupported.check_features(data, doc, problems)
    setup = data.get("setup") is True
    if setup:
        unsupported.check_setup(data, plans, doc, problems, version)
    if problems:
        raise ConfigInvalid(problems)
    return CompiledConfig(
        version=version,
        setup=setup,
        jobs=dict(planner.registry.definitions),
        workflows=tuple(plans),
        parameters=bound,
        processed_yaml=_processed(planner, plans, loader.resolved, source, setup),
        warnings=tuple(
            (validate.schema_warnings(doc) if check_schema else [])
            + planner.warnings
            + _unused_jobs(data, doc, planner.used_refs)
        ),
    )


def _plan_all(
    planner: WorkflowPlanner, data: dict[str, Any], doc: Document, problems: list[Problem]
) -> list[WorkflowPlan]:
    originals = doc.data.get("workflows") if isinstance(doc.data.get("workflows"), dict) else {}
    plans = []
    for name, body in _workflow_items(data, doc, problems):
        plans.append(planner.plan(name, body, originals.get(name), Where(doc, ("workflows", name))))
    return plans


def _processed(
    planner: WorkflowPlanner, plans: list[WorkflowPlan], resolved: Mapping[str, str], source: str, setup: bool
) -> str:
    running = [plan for plan in plans if plan.runs]
    keys = [job.job for plan in running for job in plan.jobs if job.job]
    jobs = {key: planner.registry.raw[key] for key in dict.fromkeys(keys)}
    flows = {plan.name: planner.processed.get(plan.name, []) for plan in running}
    return process.processed_yaml(
        jobs=jobs, workflows=flows, resolved_orbs=resolved, source=source, setup=setup
    )


def _unused_jobs(data: dict[str, Any], doc: Document, used: set[str]) -> list[Problem]:
    jobs = data.get("jobs")
    if not isinstance(jobs, dict):
        return []
    return [
        doc.problem(f"job '{name}' is not used by any workflow", ("jobs", str(name)))
        for name in jobs
        if str(name) not in used
    ]
