"""An expanded 2.0 job map -> :class:`~circlet.model.configs.JobDefinition`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from circlet.compiler import steps as step_specs
from circlet.model.configs import Executor, JobDefinition

DEFAULT_RESOURCE_CLASS = "medium"
DEFAULT_WORKING_DIRECTORY = "~/project"
STEPLESS_TYPES = frozenset({"approval", "no-op", "release", "lock", "unlock"})
_RETENTION = re.compile(r"([1-9]|[12][0-9]|30)d")

Report = Callable[[str, tuple[str | int, ...]], None]


def executor_of(job: dict[str, Any], report: Report) -> Executor:
    """The executor of an expanded job; reports a job with none or with two kinds."""
    kinds = [kind for kind in ("docker", "machine", "macos") if kind in job]
    resource_class = step_specs.env_string(job.get("resource_class") or DEFAULT_RESOURCE_CLASS)
    raw: dict[str, Any] = {
        k: job[k] for k in ("docker", "machine", "macos", "resource_class", "shell") if k in job
    }
    if not kinds:
        if job.get("type") not in STEPLESS_TYPES:
            report("a job needs exactly one executor: docker, machine, macos or executor", ())
        return Executor(type="none", resource_class=resource_class, raw=raw)
    if len(kinds) > 1:
        report(f"a job can have only one executor type; found {', '.join(kinds)}", ())
    kind = kinds[0]
    images: tuple[str, ...] = ()
    if kind == "docker":
        images = _images(job["docker"], report)
    return Executor(
        type=_type(kind, job, resource_class), resource_class=resource_class, images=images, raw=raw
    )


def _type(kind: str, job: dict[str, Any], resource_class: str) -> str:
    if kind != "machine":
        return kind
    machine = job.get("machine")
    image = str(machine.get("image") or "") if isinstance(machine, dict) else ""
    if image.startswith("windows") or resource_class.startswith("windows."):
        return "windows"
    if "/" in resource_class:
        return resource_class  # a self-hosted runner class
    return "machine"


def _images(docker: Any, report: Report) -> tuple[str, ...]:
    if not isinstance(docker, list) or not docker:
        report("docker must be a non-empty list of images", ("docker",))
        return ()
    images: list[str] = []
    for index, item in enumerate(docker):
        image = item.get("image") if isinstance(item, dict) else None
        if not isinstance(image, str) or not image:
            report("each docker entry needs an image", ("docker", index))
            continue
        images.append(image)
    return tuple(images)


def _parallelism(value: Any, report: Report) -> int:
    if value is None:
        return 1
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        report(f"parallelism must be a positive integer; got {value!r}", ("parallelism",))
        return 1
    return value


def _check_retention(value: Any, report: Report) -> None:
    """``retention: {caches: Nd}`` (1 to 30 days), as CircleCI checks it. circlet keeps caches for
    their project's retention (``circlet project cache-retention``), so the value is only checked."""
    if value is None:
        return
    if not isinstance(value, dict):
        report(f"retention must be a map such as {{caches: 7d}}; got {value!r}", ("retention",))
        return
    for key, item in value.items():
        if key != "caches":
            report(f"unknown retention key {key!r}; the only one is caches", ("retention", key))
        elif not isinstance(item, str) or not _RETENTION.fullmatch(item):
            report(f"retention.caches must be 1d to 30d; got {item!r}", ("retention", key))


def build_definition(name: str, job: dict[str, Any], report: Report) -> JobDefinition:
    """Normalize an expanded job; ``report(message, path_suffix)`` collects problems."""
    specs = []
    raw_steps = job.get("steps") or []
    if job.get("type") not in STEPLESS_TYPES:
        for index, step in enumerate(raw_steps):
            spec = step_specs.normalize(step, lambda m, i=index: report(m, ("steps", i)))  # type: ignore[misc]
            if spec is not None:
                specs.append(spec)
    shell = job.get("shell")
    _check_retention(job.get("retention"), report)
    return JobDefinition(
        name=name,
        executor=executor_of(job, report),
        steps=tuple(specs),
        environment=step_specs.environment(job.get("environment"), lambda m: report(m, ("environment",))),
        working_directory=step_specs.env_string(job.get("working_directory") or DEFAULT_WORKING_DIRECTORY),
        parallelism=_parallelism(job.get("parallelism"), report),
        shell=None if shell is None else step_specs.env_string(shell),
    )
