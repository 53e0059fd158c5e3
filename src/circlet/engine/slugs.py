"""Project and org slugs: CircleCI accepts long and short VCS names; responses use the short form."""

from __future__ import annotations

from urllib.parse import unquote

from circlet.errors import NotFound

VCS_ALIASES = {"gh": "gh", "github": "gh", "bb": "bb", "bitbucket": "bb", "circleci": "circleci"}
LONG_NAMES = {"gh": "github", "bb": "bitbucket", "circleci": "circleci"}


def normalize_vcs(vcs: str) -> str:
    short = VCS_ALIASES.get(vcs.lower())
    if short is None:
        raise NotFound(f"Unknown VCS type {vcs!r}.")
    return short


def normalize_project_slug(slug: str) -> str:
    """``github%2Facme%2Fapp`` or ``github/acme/app`` -> ``gh/acme/app``."""
    parts = unquote(slug).strip("/").split("/")
    if len(parts) != 3 or not all(parts):  # noqa: PLR2004
        raise NotFound("Project not found.")
    return "/".join([normalize_vcs(parts[0]), parts[1], parts[2]])


def normalize_org_slug(slug: str) -> str:
    parts = unquote(slug).strip("/").split("/")
    if len(parts) != 2 or not all(parts):  # noqa: PLR2004
        raise NotFound("Organization not found.")
    return f"{normalize_vcs(parts[0])}/{parts[1]}"
