"""Checkout keys (v2): generate, list, read and delete a project's SSH keys (public halves only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from circlet.api.deps import CurrentUser, TxDep
from circlet.api.views import iso
from circlet.engine import checkout_keys
from circlet.model.settings import CheckoutKey

router = APIRouter(tags=["Project"])


class CheckoutKeyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str


def key_json(key: CheckoutKey, digest: str | None = None) -> dict[str, Any]:
    return {
        "public-key": key.public_key,
        "type": key.type.value,
        "fingerprint": key.fingerprint_sha256 if digest == "sha256" else key.fingerprint_md5,
        "preferred": key.preferred,
        "created-at": iso(key.created_at),
    }


@router.post("/project/{vcs}/{org}/{repo}/checkout-key", status_code=201)
async def create_key(
    vcs: str, org: str, repo: str, body: CheckoutKeyBody, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    return key_json(await checkout_keys.create_key(tx, user, f"{vcs}/{org}/{repo}", body.type))


@router.get("/project/{vcs}/{org}/{repo}/checkout-key")
async def list_keys(
    vcs: str,
    org: str,
    repo: str,
    tx: TxDep,
    user: CurrentUser,
    digest: Annotated[Literal["sha256", "md5"] | None, Query()] = None,
) -> dict[str, Any]:
    keys = await checkout_keys.list_keys(tx, user, f"{vcs}/{org}/{repo}")
    return {"items": [key_json(k, digest) for k in keys], "next_page_token": None}


@router.get("/project/{vcs}/{org}/{repo}/checkout-key/{fingerprint:path}")
async def get_key(
    vcs: str, org: str, repo: str, fingerprint: str, tx: TxDep, user: CurrentUser
) -> dict[str, Any]:
    key = await checkout_keys.get_key(tx, user, f"{vcs}/{org}/{repo}", fingerprint)
    return key_json(key, "sha256" if fingerprint.startswith("SHA256:") else None)


@router.delete("/project/{vcs}/{org}/{repo}/checkout-key/{fingerprint:path}")
async def delete_key(
    vcs: str, org: str, repo: str, fingerprint: str, tx: TxDep, user: CurrentUser
) -> dict[str, str]:
    await checkout_keys.delete_key(tx, user, f"{vcs}/{org}/{repo}", fingerprint)
    return {"message": "Checkout key deleted."}
