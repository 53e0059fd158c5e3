"""Request dependencies: the store, one transaction per request, and who is calling."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import Unauthorized
from circlet.model.accounts import User
from circlet.store import accounts as account_store
from circlet.store.db import Store
from circlet.store.files import FileStore
from circlet.store.logs import LogStore


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerConfig:
    """Plain values the routes need, taken from Settings once by ``create_app``."""

    base_url: str
    data_dir: Path
    runner_lease_s: float
    runner_heartbeat_interval_s: float
    max_job_runtime_s: float
    log_cap_bytes: int
    cache_retention_s: float = 15 * 86400.0  #: a saved cache is restorable this long
    max_upload_bytes: int = 0  #: 0 means no limit on one cache, workspace layer or artifact upload


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_config(request: Request) -> ServerConfig:
    config: ServerConfig = request.app.state.config
    return config


async def get_logs(request: Request) -> LogStore:
    logs: LogStore = request.app.state.logs
    return logs


async def get_files(request: Request) -> FileStore:
    files: FileStore = request.app.state.files
    return files


async def transaction(store: Annotated[Store, Depends(get_store)]) -> AsyncIterator[AsyncSession]:
    async with store.transaction() as tx:
        yield tx


#: A request's transaction commits before its response is sent (``scope="function"``): a client that
#: got a 2xx can rely on what it did being stored. FastAPI's default for a dependency with ``yield``
#: ends it after the response, so a failed commit would follow a success the client already has.
_Transaction = Depends(transaction, scope="function")


def token_from_request(request: Request) -> str | None:
    """CircleCI accepts the ``Circle-Token`` header, HTTP Basic (token as username) and ``circle-token``."""
    token = request.headers.get("circle-token")
    if token:
        return token.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            username = base64.b64decode(value.strip()).decode().split(":", 1)[0]
        except ValueError:
            return None
        return username or None
    return request.query_params.get("circle-token") or None


async def current_user(request: Request, tx: Annotated[AsyncSession, _Transaction]) -> User:
    token = token_from_request(request)
    if not token:
        raise Unauthorized("You must log in first.")
    user = await account_store.user_for_token(tx, token)
    if user is None:
        raise Unauthorized("Invalid token provided.")
    return user


TxDep = Annotated[AsyncSession, _Transaction]
CurrentUser = Annotated[User, Depends(current_user)]
StoreDep = Annotated[Store, Depends(get_store)]
ConfigDep = Annotated[ServerConfig, Depends(get_config)]
LogsDep = Annotated[LogStore, Depends(get_logs)]
FilesDep = Annotated[FileStore, Depends(get_files)]
