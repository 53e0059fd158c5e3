"""Cache key templates, rendered on the runner as CircleCI does (Go template syntax):

``{{ .Branch }}``, ``{{ .Revision }}``, ``{{ .BuildNum }}``, ``{{ .CheckoutKey }}``,
``{{ .Environment.NAME }}``, ``{{ checksum "FILE" }}`` (base64 SHA-256 of the file, the path relative
to the job's working directory), ``{{ epoch }}`` (Unix seconds) and ``{{ arch }}``
(``arch1-<os>-<cpu>[-<family>_<model>]``, e.g. ``arch1-linux-amd64-6_85``). A variable that is not set
renders ``<no value>``, like Go's templates; a missing ``checksum`` file or an unknown expression is
an error.
"""

from __future__ import annotations

import base64
import hashlib
import platform
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

NO_VALUE = "<no value>"
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_CHECKSUM = re.compile(r'^checksum\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)$')
_ENVIRONMENT = re.compile(r"^\.Environment\.([A-Za-z_][A-Za-z0-9_]*)$")
_FIELDS = {".Branch": "CIRCLE_BRANCH", ".Revision": "CIRCLE_SHA1", ".BuildNum": "CIRCLE_BUILD_NUM"}
_MACHINES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386"}
PUBLIC_KEY_FIELDS = 2  # "ssh-ed25519 AAAA... [comment]"
CHECKSUM_CHUNK = 1024 * 1024  # bytes


class KeyTemplateError(ValueError):
    """A cache key template cannot be rendered."""


def render_key(
    template: str,
    env: Mapping[str, str],
    *,
    resolve: Callable[[str], Path],
    now: Callable[[], float] = time.time,
) -> str:
    """Render every ``{{ ... }}`` in ``template``. ``resolve`` maps a checksum path to a file."""

    def _action(match: re.Match[str]) -> str:
        return _evaluate(match.group(1).strip(), env, resolve, now)

    return _ACTION.sub(_action, template).strip()


def _evaluate(
    expr: str, env: Mapping[str, str], resolve: Callable[[str], Path], now: Callable[[], float]
) -> str:
    if expr in _FIELDS:
        return env.get(_FIELDS[expr]) or NO_VALUE
    if expr == ".CheckoutKey":
        return _key_fingerprint(env.get("CHECKOUT_KEY_PUBLIC", "")) or NO_VALUE
    if expr == "epoch":
        return str(int(now()))
    if expr == "arch":
        return arch()
    env_match = _ENVIRONMENT.match(expr)
    if env_match:
        return env.get(env_match.group(1), NO_VALUE)
    checksum = _CHECKSUM.match(expr)
    if checksum:
        name = checksum.group(1) if checksum.group(1) is not None else checksum.group(2)
        return file_checksum(resolve(name.replace('\\"', '"')), name)
    raise KeyTemplateError(f"cannot render {{{{ {expr} }}}} in a cache key")


def file_checksum(path: Path, shown: str) -> str:
    """Base64 of the SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHECKSUM_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise KeyTemplateError(f"checksum {shown!r}: cannot read {path}: {exc.strerror}") from exc
    return base64.b64encode(digest.digest()).decode()


def arch() -> str:
    system = platform.system().lower()
    machine = platform.machine().lower()
    token = f"arch1-{system}-{_MACHINES.get(machine, machine)}"
    cpu = _cpu_model()
    return f"{token}-{cpu}" if cpu else token


def _cpu_model() -> str:
    """``<cpu family>_<model>`` from /proc/cpuinfo (x86 Linux), as in CircleCI's arch token."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    family, model = fields.get("cpu family"), fields.get("model")
    return f"{family}_{model}" if family and model and model.isdigit() else ""


def _key_fingerprint(public_key: str) -> str:
    parts = public_key.split()
    if len(parts) < PUBLIC_KEY_FIELDS:
        return ""
    try:
        blob = base64.b64decode(parts[1])
    except ValueError:
        return ""
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(md5[i : i + 2] for i in range(0, len(md5), 2))
