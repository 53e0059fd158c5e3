"""Expanded 2.0 steps -> normalized :class:`~circlet.protocol.StepSpec` dicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from circlet.protocol import StepSpec

DEFAULT_NAMES = {
    "checkout": "Checkout code",
    "save_cache": "Saving Cache",
    "restore_cache": "Restoring Cache",
    "persist_to_workspace": "Persisting to Workspace",
    "attach_workspace": "Attaching Workspace",
    "store_artifacts": "Uploading artifacts",
    "store_test_results": "Uploading test results",
    "add_ssh_keys": "Install additional SSH keys",
    "setup_remote_docker": "Setup a remote Docker engine",
    "install_signing_bundle": "Install signing bundle",
}
STEP_WHEN = frozenset({"on_success", "on_fail", "always"})
ALWAYS_BY_DEFAULT = frozenset(
    {"store_artifacts", "store_test_results"}
)  #: they run after a failure (STEP-06)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0}
MAX_AUTO_RERUNS = 5

Report = Callable[[str], None]


def parse_duration_s(text: Any) -> float | None:
    """``"10m"`` -> 600.0, ``"1h30m"`` -> 5400.0; None when the text is not a duration."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    value = str(text).strip()
    if not value or _DURATION.sub("", value):
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in _DURATION.findall(value))


def env_string(value: Any) -> str:
    """Environment values are strings: booleans become true/false, null becomes empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def environment(raw: Any, report: Report) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):  # the legacy list form: ["A=1", "B=2"]
        pairs = [str(item).split("=", 1) for item in raw]
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
    if not isinstance(raw, dict):
        report("environment must be a map of names to values")
        return {}
    return {str(key): env_string(value) for key, value in raw.items()}


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [env_string(item) for item in value]
    return [env_string(value)]


def _optional(value: Any) -> str | None:
    return None if value is None else env_string(value)


def normalize(step: Any, report: Report) -> StepSpec | None:
    """Normalize one expanded step; reports problems and returns None for a step it cannot read."""
    if isinstance(step, str):
        kind, body = step, {}
    else:
        ((kind, body),) = step.items()
    if kind in ("deploy", "shell"):
        kind = "run"
    if kind == "setup_docker_engine":
        kind = "setup_remote_docker"
    if kind == "run":
        return _run(body, report)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        report(f"'{kind}' takes a map")
        return None
    spec: StepSpec = {"type": kind, "name": env_string(body.get("name") or DEFAULT_NAMES.get(kind, kind))}
    default = "always" if kind in ALWAYS_BY_DEFAULT else "on_success"
    spec["when"] = _when(body.get("when"), report, default)  # type: ignore[typeddict-item]
    _FIELDS.get(kind, _keep_rest)(spec, body)
    return spec


def _when(value: Any, report: Report, default: str = "on_success") -> str:
    if value is None:
        return default
    if value not in STEP_WHEN:
        report(f"'when' must be one of on_success, on_fail, always; got {value!r}")
        return "on_success"
    return str(value)


def _run(body: Any, report: Report) -> StepSpec | None:
    if isinstance(body, str):
        body = {"command": body}
    if not isinstance(body, dict) or body.get("command") is None:
        report("a run step needs a command")
        return None
    command = env_string(body["command"])
    first_line = next((line for line in command.splitlines() if line.strip()), command)
    spec: StepSpec = {"type": "run", "name": env_string(body.get("name") or first_line), "command": command}
    spec["when"] = _when(body.get("when"), report)  # type: ignore[typeddict-item]
    spec["shell"] = _optional(body.get("shell"))
    spec["environment"] = environment(body.get("environment"), report)
    spec["working_directory"] = _optional(body.get("working_directory"))
    spec["background"] = body.get("background") is True
    timeout = body.get("no_output_timeout")
    spec["no_output_timeout_s"] = parse_duration_s(timeout) if timeout is not None else None
    if timeout is not None and spec["no_output_timeout_s"] is None:
        report(f"no_output_timeout must look like 10m, 1h30m or 20s; got {timeout!r}")
    reruns = body.get("max_auto_reruns")
    if reruns is not None and (
        isinstance(reruns, bool) or not isinstance(reruns, int) or not 1 <= reruns <= MAX_AUTO_RERUNS
    ):
        report(f"max_auto_reruns must be an integer from 1 to 5; got {reruns!r}")
        reruns = None
    spec["max_auto_reruns"] = reruns
    return spec


def _checkout(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["path"] = _optional(body.get("path"))
    spec["method"] = env_string(body.get("method") or "full")


def _save_cache(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["key"] = env_string(body.get("key"))
    spec["paths"] = _strings(body.get("paths"))


def _restore_cache(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["keys"] = _strings(body.get("key")) + _strings(body.get("keys"))


def _persist(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["root"] = env_string(body.get("root") or ".")
    spec["paths"] = _strings(body.get("paths"))


def _attach(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["at"] = env_string(body.get("at") or ".")


def _artifacts(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["path"] = _optional(body.get("path"))
    spec["destination"] = _optional(body.get("destination"))


def _test_results(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["path"] = _optional(body.get("path"))


def _ssh_keys(spec: StepSpec, body: dict[str, Any]) -> None:
    spec["fingerprints"] = _strings(body.get("fingerprints"))


def _keep_rest(spec: StepSpec, body: dict[str, Any]) -> None:
    for key, value in body.items():
        if key not in ("name", "when"):
            spec[key] = value  # type: ignore[literal-required]


_FIELDS: dict[str, Callable[[StepSpec, dict[str, Any]], None]] = {
    "checkout": _checkout,
    "save_cache": _save_cache,
    "restore_cache": _restore_cache,
    "persist_to_workspace": _persist,
    "attach_workspace": _attach,
    "store_artifacts": _artifacts,
    "store_test_results": _test_results,
    "add_ssh_keys": _ssh_keys,
}
