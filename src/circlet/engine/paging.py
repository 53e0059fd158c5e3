"""Pages over short in-memory lists (a workflow's jobs, a job's artifacts) with opaque tokens."""

from __future__ import annotations

from typing import TypeVar

from circlet.store.pages import DEFAULT_PAGE_SIZE, decode_token, encode_token

T = TypeVar("T")


def paginate(
    items: list[T], page_token: str | None, *, page_size: int = DEFAULT_PAGE_SIZE
) -> tuple[list[T], str | None]:
    key = decode_token(page_token)
    start = int(key[0]) if key and isinstance(key[0], int) else 0
    end = start + page_size
    return items[start:end], (encode_token([end]) if end < len(items) else None)
