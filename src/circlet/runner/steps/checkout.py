"""The ``checkout`` step: clone the pipeline's repository and check out its revision."""

from __future__ import annotations

import os
import shlex
import urllib.parse

from circlet.protocol import CheckoutSpec
from circlet.runner.executor import run_process
from circlet.runner.steps.context import StepContext, StepOutcome, outcome_of
from circlet.runner.workspace import with_tools_on_path

SSH_COMMAND = "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
CHECKOUT_KEY_VAR = "CHECKOUT_KEY"  #: the project's private checkout key, set by the server for SSH URLs


async def run_checkout(ctx: StepContext) -> StepOutcome:
    checkout = ctx.assignment["checkout"]
    dest = ctx.dirs.resolve(ctx.spec.get("path") or ".", ctx.working_dir)
    ssh_command = _ssh_command(ctx)
    git_env = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": ssh_command}
    env = with_tools_on_path({**ctx.env, **git_env}, ctx.dirs)
    script = checkout_script(checkout, str(dest), ssh_command=ssh_command)
    result = await run_process(
        ["/bin/bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=ctx.working_dir,
        env={name: value for name, value in env.items() if name != "BASH_ENV"},
        sink=ctx.output.write,
        limits=ctx.limits,
        abort=ctx.abort,
        on_spawn=ctx.on_spawn,
    )
    return outcome_of(result)


def _ssh_command(ctx: StepContext) -> str:
    """ssh for git; with the project's checkout key when the server sent one (SSH repositories)."""
    key = ctx.env.get(CHECKOUT_KEY_VAR)
    if not key:
        return SSH_COMMAND
    path = ctx.dirs.meta / "checkout_key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key if key.endswith("\n") else key + "\n")
    return f"{SSH_COMMAND} -o IdentitiesOnly=yes -i {shlex.quote(str(path))}"


def checkout_script(checkout: CheckoutSpec, dest: str, *, ssh_command: str = SSH_COMMAND) -> str:
    """A bash script that fetches into an existing clone, or clones into an empty ``dest``.

    ``git clone --no-checkout`` + ``git checkout`` writes the tree once; a revision the clone
    did not bring (e.g. a pull request head) is fetched by id. The clone keeps ``ssh_command``
    so later steps can fetch or push with the same key.
    """
    url, rev = shlex.quote(checkout["repository_url"]), shlex.quote(checkout["revision"])
    banner = f"Checking out {checkout['revision']} from {_redact(checkout['repository_url'])}"
    lines = [
        f"dest={shlex.quote(dest)}",
        f"echo {shlex.quote(banner)}",
        'if [ -d "$dest/.git" ]; then',
        f'  git -C "$dest" remote set-url origin {url}',
        '  git -C "$dest" fetch -q --force --tags origin',
        'elif [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then',
        '  echo "Directory $dest exists and is not empty and not a git repository" >&2; exit 1',
        "else",
        f'  git clone -q --no-checkout {url} "$dest"',
        "fi",
        'cd "$dest"',
        f"git config core.sshCommand {shlex.quote(ssh_command)}",
        f"git cat-file -e {rev}^{{commit}} 2>/dev/null || git fetch -q origin {rev}",
    ]
    branch = checkout.get("branch")
    if branch:
        lines.append(f"git checkout -q --force -B {shlex.quote(branch)} {rev}")
        lines.append(f"git branch -q --set-upstream-to=origin/{shlex.quote(branch)} 2>/dev/null || true")
    else:
        lines.append(f"git checkout -q --force --detach {rev}")
    lines.append("git log -1 --format='HEAD is now at %h %s'")
    return "\n".join(lines) + "\n"


def _redact(url: str) -> str:
    """The URL without a password or token in its user part."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None and not (parts.username and parts.scheme.startswith("http")):
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=host))
