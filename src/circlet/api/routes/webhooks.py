"""Outbound webhooks: ``/webhook`` and ``/webhook/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.hook_views import webhook_json
from circlet.engine import webhooks
from circlet.engine.webhooks import WebhookChanges

router = APIRouter(tags=["Webhook"])


class ScopeBody(BaseModel):
    id: str
    type: str


class WebhookBody(BaseModel):
    """Create (every field required, checked by the engine) and PUT bodies."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    name: str | None = None
    url: str | None = None
    events: list[str] | None = None
    verify_tls: bool | None = Field(default=None, alias="verify-tls")
    signing_secret: str | None = Field(default=None, alias="signing-secret")
    scope: ScopeBody | None = None

    def changes(self) -> WebhookChanges:
        return WebhookChanges(
            name=self.name,
            url=self.url,
            events=self.events,
            verify_tls=self.verify_tls,
            signing_secret=self.signing_secret,
            scope_id=self.scope.id if self.scope else None,
            scope_type=self.scope.type if self.scope else None,
        )


WebhookBodyDep = Annotated[WebhookBody, Body()]


@router.post("/webhook", status_code=201)
async def create_webhook(body: WebhookBodyDep, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return webhook_json(await webhooks.create_webhook(tx, user, body.changes()))


@router.get("/webhook")
async def list_webhooks(
    tx: TxDep,
    user: CurrentUser,
    scope_id: Annotated[str, Query(alias="scope-id")],
    scope_type: Annotated[str, Query(alias="scope-type")],
) -> dict[str, Any]:
    hooks = await webhooks.scope_webhooks(tx, user, scope_id, scope_type)
    return {"items": [webhook_json(h) for h in hooks], "next_page_token": None}


@router.get("/webhook/{webhook_id}")
async def get_webhook(webhook_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    return webhook_json(await webhooks.webhook_for(tx, user, webhook_id))


@router.put("/webhook/{webhook_id}")
async def update_webhook(
    webhook_id: str, body: WebhookBodyDep, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    return webhook_json(await webhooks.update_webhook(tx, user, webhook_id, body.changes()))


@router.delete("/webhook/{webhook_id}")
async def delete_webhook(webhook_id: str, tx: TxDep, user: CurrentUser) -> dict[str, Any]:
    await webhooks.delete_webhook(tx, user, webhook_id)
    return {"message": "Webhook deleted."}
