"""A webhook receiver on 127.0.0.1 (a real HTTP server in a thread) with scripted answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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


def _handler_for(state: Receiver) -> type[BaseHTTPRequestHandler]:
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

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    Handler = _handler_for(state)

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
    other = Store.from_url(
        settings.resolved_database_url(), shared={secrets.BOX: secrets.open_box("", settings.data_dir)}
    )
    try:
        yield other
    finally:
        await other.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[Receiver]:
    """The same kind of receiver behind TLS with a self-signed certificate no client trusts."""
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = Receiver(url="")
    handler = _handler_for(state)

    class Server(ThreadingHTTPServer):
        request_queue_size = 256

        def get_request(self) -> tuple[Any, Any]:
            sock, address = super().get_request()
            return context.wrap_socket(sock, server_side=True), address

    server = Server(("127.0.0.1", 0), handler)
    state.url = f"https://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
