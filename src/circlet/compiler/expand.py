"""Expansion of jobs: parameters, executors, commands, conditional steps and step splicing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from circlet.compiler import conditions, interpolate
from circlet.compiler.loader import Document, Path
from circlet.compiler.namespaces import Element, Namespace, find
from circlet.compiler.parameters import ParamDecl, ParamError, bind_arguments, parse_declarations
from circlet.compiler.steps import env_string
from circlet.errors import Problem

MAX_COMMAND_DEPTH = 50  #: commands calling commands
BUILTIN_STEPS = frozenset(
    {
        "run",
        "checkout",
        "save_cache",
        "restore_cache",
        "persist_to_workspace",
        "attach_workspace",
        "store_artifacts",
        "store_test_results",
        "add_ssh_keys",
        "setup_remote_docker",
        "deploy",
        "install_signing_bundle",
    }
)
LEGACY_STEPS = frozenset({"shell", "setup_docker_engine"})  #: 2.0 spellings of run / setup_remote_docker
EXECUTOR_TYPES = ("docker", "machine", "macos", "windows")
EXECUTOR_KEYS = frozenset({*EXECUTOR_TYPES, "resource_class", "shell", "working_directory", "environment"})
_JOB_META = frozenset({"parameters", "description", "executor"})


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a document, for problems."""

    doc: Document
    path: Path

    def at(self, *suffix: str | int) -> Where:
        return Where(self.doc, (*self.path, *suffix))

    def problem(self, message: str) -> Problem:
        return self.doc.problem(message, self.path)


@dataclass(slots=True)
class Expander:
    """Expands job invocations into 2.0-shaped job maps, collecting problems."""

    root: Namespace
    legacy: bool = False  #: version 2 config: no parameters, no commands
    problems: list[Problem] = field(default_factory=list)
    #: Per-compile memos. Expanded trees share unchanged parts with their sources and with each other,
    #: so nothing here changes a tree once it is built.
    _references: interpolate.Memo = field(default_factory=dict)
    _escapes: interpolate.Memo = field(default_factory=dict)
    _declarations: dict[int, tuple[Any, dict[str, ParamDecl], list[ParamError]]] = field(default_factory=dict)
    _commands: dict[tuple[int, int, Any], tuple[Element, list[Any]]] = field(default_factory=dict)

    def find(self, namespace: Namespace, kind: str, name: str) -> Element | None:
        """Look in the element's own namespace, then in the config's (values passed in by the caller)."""
        found = find(namespace, kind, name)
        if found is None and namespace is not self.root:
            found = find(self.root, kind, name)
        return found

    def report(self, where: Where, errors: list[ParamError], context: str) -> None:
        for error in errors:
            place = where.at(error.key) if error.key else where
            self.problems.append(place.problem(f"{error.message} ({context})"))

    def bind(self, element: Element, args: Any, where: Where, context: str) -> dict[str, Any] | None:
        decls, errors = self.declarations(element)
        self.report(Where(element.owner.doc, (*element.path, "parameters")), errors, context)
        bound, errors = bind_arguments(decls, args if isinstance(args, dict) else {})
        self.report(where, errors, context)
        missing = any(name not in bound for name in decls)
        return None if missing else bound  # other argument errors are reported; expansion goes on

    def declarations(self, element: Element) -> tuple[dict[str, ParamDecl], list[ParamError]]:
        """The element's parameter declarations, read once per compile."""
        hit = self._declarations.get(id(element.body))
        if hit is None:
            body = element.body if isinstance(element.body, dict) else {}
            hit = (element.body, *parse_declarations(body.get("parameters")))
            self._declarations[id(element.body)] = hit
        return hit[1], hit[2]

    def substitute(self, value: Any, bound: dict[str, Any], where: Where, context: str) -> Any:
        scope = interpolate.Scope(parameters=bound)
        result = interpolate.substitute_shared(value, scope, self._references)
        if scope.missing:
            names = ", ".join(name.removeprefix("parameters.") for name in scope.missing)
            self.problems.append(
                where.problem(f"Arguments referenced without declared parameters: {names} ({context})")
            )
        return result

    def expand_job(
        self, element: Element, args: Any, where: Where, *, pre_steps: Any = None, post_steps: Any = None
    ) -> dict[str, Any] | None:
        """Expand one job invocation into a 2.0 job map, or None after reporting problems."""
        context = f"job '{element.name}'"
        if not isinstance(element.body, dict):
            self.problems.append(where.problem(f"job '{element.name}' must be a map"))
            return None
        bound = self.bind(element, args, where, context)
        if bound is None:
            return None
        home = Where(element.owner.doc, element.path)
        body = {k: v for k, v in element.body.items() if k not in ("parameters", "description")}
        if not self.legacy:
            body = self.substitute(body, bound, home, context)
        job = self.apply_executor(body, element.owner, home, context)
        steps: list[Any] = []
        steps += self.expand_steps(pre_steps or [], self.root, where.at("pre-steps"), 0)
        steps += self.expand_steps(body.get("steps") or [], element.owner, home.at("steps"), 0)
        steps += self.expand_steps(post_steps or [], self.root, where.at("post-steps"), 0)
        job["steps"] = [_stringify_run_environment(step) for step in steps]
        if isinstance(job.get("environment"), dict):
            job["environment"] = _strings(job["environment"])
        result: dict[str, Any] = interpolate.unescape_shared(job, self._escapes)
        return result

    def apply_executor(
        self, body: dict[str, Any], owner: Namespace, home: Where, context: str
    ) -> dict[str, Any]:
        job = {k: v for k, v in body.items() if k not in _JOB_META and k != "steps"}
        reference = body.get("executor")
        if reference is None:
            return job
        executor = self.resolve_executor(reference, owner, home.at("executor"), context)
        if executor is None:
            return job
        if any(key in job for key in EXECUTOR_TYPES):
            executor = {k: v for k, v in executor.items() if k not in EXECUTOR_TYPES}
        merged = {k: v for k, v in executor.items() if k in EXECUTOR_KEYS}
        environment = {**(executor.get("environment") or {}), **(job.get("environment") or {})}
        merged.update(job)
        if environment:
            merged["environment"] = environment
        return merged

    def resolve_executor(
        self, reference: Any, owner: Namespace, where: Where, context: str
    ) -> dict[str, Any] | None:
        if isinstance(reference, dict):
            name, args = reference.get("name"), {k: v for k, v in reference.items() if k != "name"}
        else:
            name, args = reference, {}
        if not isinstance(name, str):
            self.problems.append(where.problem(f"an executor reference needs a name ({context})"))
            return None
        element = self.find(owner, "executors", name)
        if element is None:
            self.problems.append(where.problem(f"Cannot find a definition for executor named {name}"))
            return None
        if not isinstance(element.body, dict):
            self.problems.append(element.problem(f"executor '{name}' must be a map"))
            return None
        executor_context = f"executor '{name}'"
        bound = self.bind(element, args, where, executor_context)
        if bound is None:
            return None
        body = {k: v for k, v in element.body.items() if k not in ("parameters", "description")}
        result: dict[str, Any] = self.substitute(
            body, bound, Where(element.owner.doc, element.path), executor_context
        )
        return result

    def expand_steps(self, steps: Any, namespace: Namespace, where: Where, depth: int) -> list[Any]:
        """Expand a steps list: commands inlined, ``when``/``unless`` evaluated, lists spliced."""
        if steps is None:
            return []
        if not isinstance(steps, list):
            self.problems.append(where.problem("steps must be a list"))
            return []
        if depth > MAX_COMMAND_DEPTH:
            self.problems.append(where.problem("commands call each other too deeply (is there a cycle?)"))
            return []
        out: list[Any] = []
        for index, step in enumerate(steps):
            out.extend(self.expand_step(step, namespace, where.at(index), depth))
        return out

    def expand_step(self, step: Any, namespace: Namespace, where: Where, depth: int) -> list[Any]:
        if isinstance(step, list):
            return self.expand_steps(step, namespace, where, depth)
        if isinstance(step, str):
            return self.named_step(step, None, namespace, where, depth)
        if not isinstance(step, dict) or len(step) != 1:
            self.problems.append(where.problem("a step must be a name or a map with exactly one key"))
            return []
        ((name, value),) = step.items()
        name = str(name)
        if name == "steps":
            return self.expand_steps(value, namespace, where.at(name), depth)
        if name in ("when", "unless") and not self.legacy:
            return self.conditional(name, value, namespace, where.at(name), depth)
        return self.named_step(name, value, namespace, where, depth)

    def named_step(self, name: str, value: Any, namespace: Namespace, where: Where, depth: int) -> list[Any]:
        if name in BUILTIN_STEPS or (self.legacy and name in LEGACY_STEPS):
            return [name if value is None else {name: value}]
        element = None if self.legacy else self.find(namespace, "commands", name)
        if element is not None:
            return self.expand_command(element, value, where, depth)
        if interpolate.leftover_references(name, ""):
            self.problems.append(where.problem(f"the step {name!r} refers to a value that is not declared"))
            return []
        self.problems.append(where.problem(f"Cannot find a definition for command named {name}"))
        return []

    def expand_command(self, element: Element, args: Any, where: Where, depth: int) -> list[Any]:
        """Inline one command invocation; an invocation seen before in this compile without problems
        gives the same steps again."""
        key = (id(element.body), id(element.owner), freeze(args))
        hit = self._commands.get(key)
        if hit is not None:
            return hit[1]
        before = len(self.problems)
        steps = self.inline_command(element, args, where, depth)
        if len(self.problems) == before:
            self._commands[key] = (element, steps)
        return steps

    def inline_command(self, element: Element, args: Any, where: Where, depth: int) -> list[Any]:
        context = f"command '{element.name}'"
        if args == "":
            args = None
        if args is not None and not isinstance(args, dict):
            self.problems.append(where.problem(f"arguments to {context} must be a map"))
            return []
        if not isinstance(element.body, dict):
            self.problems.append(element.problem(f"{context} must be a map with steps"))
            return []
        bound = self.bind(element, args or {}, where.at(element.name), context)
        if bound is None:
            return []
        home = Where(element.owner.doc, (*element.path, "steps"))
        steps = self.substitute(element.body.get("steps") or [], bound, home, context)
        return self.expand_steps(steps, element.owner, home, depth + 1)

    def conditional(self, kind: str, value: Any, namespace: Namespace, where: Where, depth: int) -> list[Any]:
        if not isinstance(value, dict) or "condition" not in value:
            self.problems.append(where.problem(f"a '{kind}' step needs 'condition' and 'steps'"))
            return []
        try:
            holds = conditions.evaluate(value["condition"])
        except conditions.ConditionError as exc:
            self.problems.append(where.at("condition").problem(str(exc)))
            return []
        if holds != (kind == "when"):
            return []
        return self.expand_steps(value.get("steps") or [], namespace, where.at("steps"), depth)


def freeze(value: Any) -> Any:
    """A hashable key for plain data; values of different types stay apart (``True`` is not ``1``)."""
    kind = type(value)
    if kind is dict:
        return (dict, tuple((type(k), k, freeze(v)) for k, v in value.items()))
    if kind is list:
        return (list, tuple(freeze(v) for v in value))
    return (kind, value)


def _strings(environment: dict[Any, Any]) -> dict[str, str]:
    return {str(key): env_string(value) for key, value in environment.items()}


def _stringify_run_environment(step: Any) -> Any:
    if not isinstance(step, dict) or "run" not in step or not isinstance(step["run"], dict):
        return step
    body = step["run"]
    if not isinstance(body.get("environment"), dict):
        return step
    return {"run": {**body, "environment": _strings(body["environment"])}}
