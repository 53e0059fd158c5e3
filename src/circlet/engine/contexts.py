"""Contexts: org-owned sets of secret variables, their restrictions, and the check that a job may use
the contexts it names (run when the job would be queued)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from circlet.compiler.expressions import ExpressionError, evaluate, parse, references, truthy
from circlet.engine.envvars import check_name_and_value
from circlet.engine.paging import paginate
from circlet.engine.secrets import box_for
from circlet.engine.slugs import normalize_org_slug
from circlet.errors import BadRequest, NotFound, NotSupported
from circlet.model.accounts import Org, Project, User
from circlet.model.pipelines import Job, Pipeline
from circlet.model.settings import Context, Restriction, RestrictionType
from circlet.store import accounts as account_store
from circlet.store import contexts as context_store
from circlet.store import pipelines as pipeline_store
from circlet.store import projects as project_store
from circlet.store.pages import Page

#: Values an expression restriction may read besides ``pipeline.*``; SSH reruns are not supported.
JOB_VALUES: dict[str, Any] = {"job.ssh.enabled": False}


@dataclass(frozen=True, kw_only=True, slots=True)
class ContextVar:
    """A context variable as the API shows it: never its value."""

    context_id: str
    variable: str
    created_at: datetime
    updated_at: datetime


async def owner_org(
    tx: AsyncSession, user: User, *, owner_id: str | None, owner_slug: str | None, owner_type: str | None
) -> Org:
    """The org named by ``owner-id``/``owner-slug``; NotFound unless the user is a member."""
    if owner_type == "account":
        raise NotSupported("Contexts owned by an account are not supported by circlet; use an organization.")
    if owner_type not in (None, "organization"):
        raise BadRequest(f"Invalid owner-type {owner_type!r}.")
    if owner_id:
        org = await _org_by_id(tx, owner_id)
    elif owner_slug:
        org = await account_store.find_org(tx, normalize_org_slug(owner_slug))
    else:
        raise BadRequest("Specify owner-id or owner-slug.")
    if org is None or org.id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Organization not found.")
    return org


async def _org_by_id(tx: AsyncSession, org_id: str) -> Org | None:
    try:
        return await account_store.get_org(tx, org_id)
    except NotFound:
        return None


async def create_context(tx: AsyncSession, user: User, name: str, org: Org) -> Context:
    if not name.strip():
        raise BadRequest("A context needs a name.")
    return await context_store.create_context(tx, org.id, name)


async def list_contexts(tx: AsyncSession, org: Org, *, page_token: str | None) -> Page[Context]:
    return await context_store.list_contexts(tx, org.id, page_token=page_token)


async def context_for(tx: AsyncSession, user: User, context_id: str) -> Context:
    """A context of one of the user's orgs; anything else is NotFound."""
    try:
        uuid.UUID(context_id)
    except ValueError:
        raise NotFound("Context not found.") from None
    context = await context_store.get_context(tx, context_id)
    if context.org_id not in await account_store.user_org_ids(tx, user.id):
        raise NotFound("Context not found.")
    return context


async def delete_context(tx: AsyncSession, user: User, context_id: str) -> None:
    context = await context_for(tx, user, context_id)
    await context_store.delete_context(tx, context.id)


async def put_variable(tx: AsyncSession, user: User, context_id: str, name: str, value: str) -> ContextVar:
    """Create or overwrite a context variable; the value is sealed before it reaches the store."""
    context = await context_for(tx, user, context_id)
    check_name_and_value(name, value)
    var = await context_store.put_envvar(tx, context.id, name, box_for(tx).seal(value))
    return ContextVar(
        context_id=context.id, variable=var.name, created_at=var.created_at, updated_at=var.updated_at
    )


async def list_variables(
    tx: AsyncSession, user: User, context_id: str, *, page_token: str | None
) -> tuple[list[ContextVar], str | None]:
    context = await context_for(tx, user, context_id)
    found = (await context_store.list_envvars(tx, [context.id]))[context.id]
    items = [
        ContextVar(context_id=context.id, variable=v.name, created_at=v.created_at, updated_at=v.updated_at)
        for v in found
    ]
    return paginate(items, page_token)


async def delete_variable(tx: AsyncSession, user: User, context_id: str, name: str) -> None:
    context = await context_for(tx, user, context_id)
    await context_store.delete_envvar(tx, context.id, name)


async def list_restrictions(tx: AsyncSession, user: User, context_id: str) -> list[Restriction]:
    context = await context_for(tx, user, context_id)
    return await context_store.list_restrictions(tx, context.id)


async def add_restriction(
    tx: AsyncSession, user: User, context_id: str, *, restriction_type: str, restriction_value: str
) -> Restriction:
    """Restrict a context to a project (value: the project's id) or to an expression.

    Raises:
        BadRequest: an unknown type, a project outside the context's org, or an invalid expression.
        Conflict: the same restriction exists already.
    """
    context = await context_for(tx, user, context_id)
    if restriction_type == RestrictionType.PROJECT:
        project = await _org_project(tx, context, restriction_value)
        return await context_store.add_restriction(
            tx, context.id, type=RestrictionType.PROJECT, value=project.id, name=project.name
        )
    if restriction_type == RestrictionType.EXPRESSION:
        check_expression(restriction_value)
        return await context_store.add_restriction(
            tx,
            context.id,
            type=RestrictionType.EXPRESSION,
            value=restriction_value,
            name=restriction_value,
        )
    if restriction_type == "group":
        raise NotSupported("Security group restrictions are not supported by circlet.")
    raise BadRequest("restriction_type must be 'project' or 'expression'.")


async def _org_project(tx: AsyncSession, context: Context, project_id: str) -> Project:
    try:
        uuid.UUID(project_id)
        project = await project_store.get_project(tx, project_id)
    except (ValueError, NotFound):
        raise BadRequest(
            "restriction_value must be the id of a project of the context's organization."
        ) from None
    if project.org_id != context.org_id:
        raise BadRequest("restriction_value must be the id of a project of the context's organization.")
    return project


def check_expression(text: str) -> None:
    """Raises BadRequest for an expression that does not parse or reads an unknown value."""
    try:
        names = references(parse(text))
    except ExpressionError as exc:
        raise BadRequest(f"Invalid expression: {exc}") from exc
    unknown = [n for n in names if not n.startswith("pipeline.") and n not in JOB_VALUES]
    if unknown:
        raise BadRequest(
            f"Invalid expression: unknown value {unknown[0]!r} (use pipeline.* values or job.ssh.enabled)."
        )


async def delete_restriction(tx: AsyncSession, user: User, context_id: str, restriction_id: str) -> None:
    context = await context_for(tx, user, context_id)
    await context_store.delete_restriction(tx, context.id, restriction_id)


async def refusal(tx: AsyncSession, job: Job) -> str | None:
    """Why ``job`` may not use the contexts it names, or None when it may (or names none)."""
    if not job.contexts:
        return None
    project = await project_store.get_project(tx, job.project_id)
    pipeline = await pipeline_store.get_pipeline(tx, job.pipeline_id)
    for name in job.contexts:
        context = await context_store.find_context(tx, project.org_id, name)
        if context is None:
            return f"Context {name!r} was not found in {project.org_slug}."
        reason = restriction_refusal(await context_store.list_restrictions(tx, context.id), project, pipeline)
        if reason:
            return f"Context {name!r} may not be used here: {reason}"
    return None


def restriction_refusal(restrictions: list[Restriction], project: Project, pipeline: Pipeline) -> str | None:
    """Why a context with these restrictions may not be used by ``project``'s ``pipeline`` (or None).

    Project restrictions: the project must be one of them. Expression restrictions: each must be true.
    """
    projects = [r for r in restrictions if r.type is RestrictionType.PROJECT]
    if projects and project.id not in {r.value for r in projects}:
        return f"it is restricted to other projects than {project.slug}."
    values = _expression_values(pipeline, project)
    for restriction in restrictions:
        if restriction.type is not RestrictionType.EXPRESSION:
            continue
        try:
            ok = truthy(evaluate(parse(restriction.value), values.get))
        except ExpressionError as exc:
            return f"the expression `{restriction.value}` failed: {exc}."
        if not ok:
            return f"the expression `{restriction.value}` is false for this pipeline."
    return None


def _expression_values(pipeline: Pipeline, project: Project) -> dict[str, Any]:
    # imported here: engine.pipelines -> progress -> contexts would otherwise be an import cycle
    from circlet.engine.pipelines import TriggerRequest, pipeline_values

    request = TriggerRequest(trigger_type=pipeline.trigger_type, trigger_source=pipeline.trigger_type)
    return {**pipeline_values(pipeline, project, request), **JOB_VALUES}


async def context_values(tx: AsyncSession, job: Job, project: Project) -> dict[str, str]:
    """The clear values of the contexts ``job`` names; a later context overrides an earlier one."""
    found = [await context_store.find_context(tx, project.org_id, n) for n in job.contexts]
    ids = [c.id for c in found if c is not None]
    if not ids:
        return {}
    by_context = await context_store.list_envvars(tx, ids)
    values: dict[str, str] = {}
    box = box_for(tx)
    for context_id in ids:
        for var in by_context[context_id]:
            values[var.name] = box.open(var.sealed)
    return values
