"""Schedules and webhooks: cost of a firing pass, of writing outbox rows, and delivery throughput.

Usage: python bench/hooks.py [--schedules 1000] [--events 1000] [--postgres postgresql://postgres@host/db]
With --postgres, a throwaway database is created next to the given one and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from circlet.api.loops_hooks import ScheduleFirer, WebhookSender
from circlet.engine import accounts, projects, secrets
from circlet.model.hooks import AttributionActor, WebhookEvent
from circlet.settings import to_async_url
from circlet.store import schedules as schedule_store
from circlet.store import webhooks as webhook_store
from circlet.store.db import Store


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 256


async def _bench(url: str, n_schedules: int, n_events: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    store = Store.from_url(to_async_url(url or f"sqlite:///{tmp}/bench.db"))
    await store.migrate()
    store.share(secrets.BOX, secrets.open_box("", tmp))
    now = datetime.now(UTC)
    async with store.transaction() as tx:
        await accounts.create_user(tx, login="bench", name="bench", org="gh/acme")
        project = await projects.add_project(tx, "gh/acme/app", repo_url=str(tmp))
        for n in range(n_schedules):
            await schedule_store.create_schedule(
                tx,
                project_id=project.id,
                name=f"s{n}",
                description=None,
                timetable={
                    "per-hour": 4,
                    "hours-of-day": [n % 24],
                    "days-of-month": [1 + n % 28],
                    "months": ["JAN"],
                },
                attribution_actor=AttributionActor.SYSTEM,
                actor_id=None,
                parameters={"branch": "main"},
                now=now,
            )
    firer = ScheduleFirer(store=store, mirrors_dir=tmp / "mirrors")
    quiet = datetime(now.year + 1, 6, 1, tzinfo=UTC)
    await firer.run_once(quiet)  # the first pass also prunes
    started = time.perf_counter()
    for _ in range(5):
        await firer.run_once(quiet)
    print(
        f"firing pass, {n_schedules} schedules, none due: {(time.perf_counter() - started) / 5 * 1000:.0f} ms"
    )

    server = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    async with store.transaction() as tx:
        hook = await webhook_store.create_webhook(
            tx,
            project_id=project.id,
            name="bench",
            url=f"http://127.0.0.1:{server.server_address[1]}/",
            verify_tls=True,
            signing_secret_sealed=secrets.box_for(tx).seal("bench-secret"),
            signing_secret_masked="xxxx",
            events=[WebhookEvent.JOB_COMPLETED],
            now=now,
        )
        payload = {"type": "job-completed", "padding": "x" * 1500}
        started = time.perf_counter()
        for _ in range(n_events):
            await webhook_store.enqueue_delivery(
                tx,
                delivery_id=str(uuid.uuid4()),
                webhook_id=hook.id,
                event_type=WebhookEvent.JOB_COMPLETED,
                payload=payload,
                now=now,
            )
        elapsed = time.perf_counter() - started
    print(f"outbox insert: {elapsed / n_events * 1000:.2f} ms per event")
    sender = WebhookSender.create(store, "http://bench")
    started, sent = time.perf_counter(), 0
    while statuses := await sender.run_once(lambda: datetime.now(UTC)):
        sent += len(statuses)
    elapsed = time.perf_counter() - started
    print(f"delivered {sent} events to a local receiver in {elapsed:.1f} s: {sent / elapsed:.0f} events/s")
    await sender.close()
    server.shutdown()
    await store.close()


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    if not args.postgres:
        asyncio.run(_bench("", args.schedules, args.events))
        return
    name = f"circlet_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_bench(args.postgres.rsplit("/", 1)[0] + f"/{name}", args.schedules, args.events))
    finally:
        asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
