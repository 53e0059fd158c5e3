"""``add_ssh_keys``: install the project's SSH keys for the job's later steps.

The keys a job can get are the ones the server sends: the project's checkout key (``CHECKOUT_KEY``,
for repositories with an SSH URL). Each is written to ``~/.ssh/id_<fingerprint>`` and listed in
``~/.ssh/config``; an ``ssh`` launcher on the job's ``PATH`` passes that config (OpenSSH reads the
home of the user's passwd entry, not ``$HOME``). ``fingerprints`` that match no key fail the step.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from circlet.runner.steps.context import StepContext, StepOutcome
from circlet.runner.workspace import DEFAULT_PATH

PUBLIC_KEY_FIELDS = 2  # "ssh-ed25519 AAAA... [comment]"
_LAUNCHER = """#!/bin/sh
if [ -f "$HOME/.ssh/config" ]; then exec {ssh} -F "$HOME/.ssh/config" "$@"; fi
exec {ssh} "$@"
"""


@dataclass(frozen=True, slots=True)
class SshKey:
    private: str
    md5: str  #: aa:bb:... as ssh-keygen -E md5 -l prints it
    sha256: str  #: SHA256:base64


async def run_add_ssh_keys(ctx: StepContext) -> StepOutcome:
    available = project_keys(ctx.env)
    wanted = [f.strip() for f in ctx.spec.get("fingerprints", []) if f.strip()]
    chosen = [k for k in available if not wanted or _matches(k, wanted)]
    unmatched = [f for f in wanted if not any(_matches(k, [f]) for k in available)]
    for fingerprint in unmatched:
        await ctx.output.write_line(
            f"error: no SSH key with fingerprint {fingerprint} for this project. circlet hands jobs the "
            "project's checkout key (for repositories with an SSH URL); add one with "
            "POST /api/v2/project/{slug}/checkout-key"
        )
    if unmatched:
        return StepOutcome("failed", None)
    if not chosen:
        await ctx.output.write_line(
            "Warning: this project has no SSH keys to add (no checkout key: its repository URL is not SSH, "
            "or no key was created); nothing installed"
        )
        return StepOutcome("success", 0)
    for key in chosen:
        path = _install(ctx, key)
        await ctx.output.write_line(f"Installed SSH key {key.md5} as {path}")
    _install_launcher(ctx)
    return StepOutcome("success", 0)


def project_keys(env: dict[str, str]) -> list[SshKey]:
    private, public = env.get("CHECKOUT_KEY", ""), env.get("CHECKOUT_KEY_PUBLIC", "")
    if not private or len(public.split()) < PUBLIC_KEY_FIELDS:
        return []
    blob = base64.b64decode(public.split()[1])
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return [SshKey(private, ":".join(md5[i : i + 2] for i in range(0, 32, 2)), f"SHA256:{sha256}")]


def _matches(key: SshKey, wanted: list[str]) -> bool:
    return any(f.lower() in (key.md5, key.md5.replace(":", "")) or f == key.sha256 for f in wanted)


def _install(ctx: StepContext, key: SshKey) -> Path:
    ssh_dir = ctx.dirs.home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    path = ssh_dir / f"id_{key.md5.replace(':', '')}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.private if key.private.endswith("\n") else key.private + "\n")
    config = ssh_dir / "config"
    line = f"IdentityFile {path}\n"
    existing = config.read_text() if config.exists() else "Host *\n  StrictHostKeyChecking accept-new\n"
    if line.strip() not in existing:
        existing += f"  {line}"
    config.write_text(existing)
    config.chmod(0o600)
    return path


def _install_launcher(ctx: StepContext) -> None:
    ssh = shutil.which("ssh", path=DEFAULT_PATH)
    if ssh is None:
        return
    launcher = ctx.dirs.tools / "ssh"
    launcher.write_text(_LAUNCHER.format(ssh=shlex.quote(ssh)))
    launcher.chmod(0o755)
