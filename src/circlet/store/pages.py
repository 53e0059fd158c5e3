"""Opaque page tokens for ``next_page_token`` pagination (keyset: the last item's sort key)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from circlet.errors import BadRequest

DEFAULT_PAGE_SIZE = 20
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None


def encode_token(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> list[Any] | None:
    """Return the keyset position in ``token``, or None for the first page."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("Invalid page-token.") from exc
    if not isinstance(key, list) or not key:
        raise BadRequest("Invalid page-token.")
    return key
