"""A webhook receiver on 127.0.0.1 (a real HTTP server in a thread) with scripted answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from circlet.engine import secrets
from circlet.settings import Settings
from circlet.store.db import Store


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  #: answers to give, in order; then 200
    received: list[Received] = field(default_factory=list)

    async def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.received) < count:
            if loop.time() > deadline:
                raise AssertionError(f"receiver got {len(self.received)} requests, wanted {count}")
            await asyncio.sleep(0.05)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            status = state.statuses.pop(0) if state.statuses else 200
            state.received.append(
                Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            )
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # senders post a batch at once

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
async def second_server_store(store: Store, settings: Settings) -> AsyncIterator[Store]:
    """The store of a second API server on the same database.

    On PostgreSQL, a separate engine and connection pool, as another process would have. A fleet of
    servers needs PostgreSQL; SQLite serves one server, so there the "second server" shares the app's
    store and concurrent passes interleave on its connection (two SQLite connections would only measure
    SQLite's busy-wait fairness).
    """
    if store.is_sqlite:
        yield store
        return
    other = Store.from_url(settings.resolved_database_url())
    secrets.bind_box(other.engine.sync_engine, secrets.SecretBox(secrets.load_key("", settings.data_dir)))
    try:
        yield other
    finally:
        await other.close()
