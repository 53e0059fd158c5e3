"""``circlet project push-secret``: enable inbound push hooks for a project."""

from __future__ import annotations

from typing import Annotated

import typer

from circlet.cli.common import DataDir, in_transaction, make_settings
from circlet.engine import Tx


def push_secret(
    slug: str,
    data_dir: DataDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the secret.")] = False,
) -> None:
    """Generate a new push-hook secret for a project (like gh/acme/app), replacing any old one.

    The secret is printed once, as the last line: give it to the git host's webhook settings
    (GitHub/Gitea/Forgejo "Secret", GitLab "Secret token") with the URL shown.
    """
    from circlet.engine import push, secrets

    settings = make_settings(data_dir)
    box = secrets.open_box(settings.secret_key, settings.data_dir)

    async def _create(tx: Tx) -> str:
        return await push.new_push_secret(tx, slug)

    secret = in_transaction(settings, _create, shared={secrets.BOX: box})
    if not quiet:
        short = slug.strip("/")
        typer.echo(f"push hook URL: {settings.public_url()}/hooks/push/{short}")
        typer.echo("content type: application/json; events: push (and tag push)")
    typer.echo(secret)
