"""The ``circlet`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from circlet.cli.common import DataDir, in_transaction, make_settings
from circlet.cli.dev import dev_app
from circlet.cli.hooks import push_secret
from circlet.cli.local import local
from circlet.cli.logs import logs
from circlet.cli.retention import cache_retention
from circlet.cli.runner import DESCRIPTION as RUNNER_HELP
from circlet.cli.runner import main as runner_main
from circlet.cli.serve import serve
from circlet.engine import Tx, accounts, orb_registry, projects

app = typer.Typer(
    help="circlet: a self-hosted CI server for CircleCI configs and API clients.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage personal API tokens.", no_args_is_help=True)
project_app = typer.Typer(help="Manage projects.", no_args_is_help=True)
runner_token_app = typer.Typer(help="Manage runner tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(project_app, name="project")
app.add_typer(runner_token_app, name="runner-token")
app.add_typer(dev_app, name="dev")
app.command("serve")(serve)


@app.command(
    "runner",
    help=RUNNER_HELP + " Options: circlet runner --help.",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def runner(ctx: typer.Context) -> None:
    """Listed here for ``circlet --help``; ``circlet runner`` itself is parsed by circlet.cli.runner."""
    runner_main(ctx.args)


app.command("logs")(logs)
app.command("local")(local)
project_app.command("push-secret")(push_secret)
project_app.command("cache-retention")(cache_retention)


@user_app.command("create")
def user_create(
    login: str,
    org: Annotated[str | None, typer.Option(help="Org to join, like gh/acme.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user and print a new personal API token (the last line)."""
    user, token = in_transaction(
        make_settings(data_dir), lambda tx: accounts.create_user(tx, login=login, name=name, org=org)
    )
    typer.echo(f"created user {user.login} ({user.id})")
    typer.echo(token)


@user_app.command("join")
def user_join(login: str, org: str, data_dir: DataDir = None) -> None:
    """Add a user to an org (like gh/acme)."""

    async def _join(tx: Tx) -> str:
        user = await accounts.require_user(tx, login)
        return (await accounts.join_org(tx, user, org)).slug

    typer.echo(f"{login} is a member of {in_transaction(make_settings(data_dir), _join)}")


@token_app.command("create")
def token_create(
    login: str,
    label: Annotated[str, typer.Option(help="A note for the token.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create another personal API token for a user (printed as the last line)."""
    typer.echo(
        in_transaction(make_settings(data_dir), lambda tx: accounts.create_token(tx, login, label=label))
    )


@project_app.command("add")
def project_add(
    slug: str,
    repo: Annotated[str, typer.Option(help="Git URL or local path the server can read.")],
    default_branch: Annotated[str, typer.Option(help="Default branch.")] = "main",
    data_dir: DataDir = None,
) -> None:
    """Add a project, like gh/acme/app, backed by a git repository."""
    if "://" not in repo and not repo.startswith("git@"):
        repo = str(Path(repo).expanduser().resolve())
    project = in_transaction(
        make_settings(data_dir),
        lambda tx: projects.add_project(tx, slug, repo_url=repo, default_branch=default_branch),
    )
    typer.echo(f"added project {project.slug} ({project.id}) -> {project.repo_url}")


@runner_token_app.command("create")
def runner_token_create(
    resource_class: str, nickname: Annotated[str, typer.Option()] = "", data_dir: DataDir = None
) -> None:
    """Create a runner token for a resource class like acme/linux (printed as the last line)."""
    typer.echo(
        in_transaction(
            make_settings(data_dir),
            lambda tx: accounts.create_runner_token(tx, resource_class, nickname=nickname),
        )
    )


def _mount_optional() -> None:
    """Sub-apps owned by other modules (config compiler, orbs)."""
    try:
        from circlet.cli.config import config_app

        app.add_typer(config_app, name="config", help="Validate, process and plan configs.")
    except ImportError:  # pragma: no cover - present in every build
        pass
    try:
        from circlet.cli.orbs import orb_app
    except ImportError:  # pragma: no cover
        orb_app = typer.Typer(no_args_is_help=True)

    @orb_app.command("publish")
    def orb_publish(ref: str, file: Path, data_dir: DataDir = None) -> None:
        """Publish an orb version (ns/name@X.Y.Z) from a YAML file into the local registry."""
        source = file.read_text()
        ns, nm, ver = in_transaction(
            make_settings(data_dir), lambda tx: orb_registry.publish(tx, ref, source)
        )
        typer.echo(f"published {ns}/{nm}@{ver}")

    @orb_app.command("list")
    def orb_list(data_dir: DataDir = None) -> None:
        """List the orbs in the local registry."""
        for ns, nm, ver in in_transaction(make_settings(data_dir), orb_registry.list_all):
            typer.echo(f"{ns}/{nm}@{ver}")

    app.add_typer(orb_app, name="orb", help="The local orb registry.")


_mount_optional()


def main() -> None:
    app()
