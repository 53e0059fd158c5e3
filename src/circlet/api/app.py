"""The composition root: ``create_app(settings)`` wires the store, the routes and the background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from circlet.api import loops_hooks
from circlet.api.deps import ServerConfig
from circlet.api.errors import install_error_handlers
from circlet.api.loops import run_reaper
from circlet.api.routes import artifacts as artifact_routes
from circlet.api.routes import checkout_keys as checkout_key_routes
from circlet.api.routes import config as config_routes
from circlet.api.routes import contexts as context_routes
from circlet.api.routes import control as control_routes
from circlet.api.routes import envvars as envvar_routes
from circlet.api.routes import insights as insights_routes
from circlet.api.routes import jobs, legacy, me, pipelines, projects, runner, workflows
from circlet.api.routes import legacy_v1 as legacy_v1_routes
from circlet.api.routes import live as live_routes
from circlet.api.routes import project_settings as project_settings_routes
from circlet.api.routes import push as push_routes
from circlet.api.routes import runner_storage as storage_routes
from circlet.api.routes import schedules as schedule_routes
from circlet.api.routes import timings as timing_routes
from circlet.api.routes import webhooks as webhook_routes
from circlet.engine import secrets
from circlet.engine.live import LiveLogs, OutputLeases, OutputWatch, SizeRecords
from circlet.settings import Settings
from circlet.store.db import Store
from circlet.store.files import FileStore
from circlet.store.notify import listen_postgres
from circlet.web import mount_web

log = logging.getLogger(__name__)

V2 = "/api/v2"


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """Build the ASGI app. Migrations run at start-up; background loops stop at shutdown."""
    box = secrets.open_box(settings.secret_key, settings.data_dir)
    if store is None:
        store = Store.from_url(
            settings.resolved_database_url(),
            shared={secrets.BOX: box},
            sqlite_synchronous=settings.sqlite_synchronous,
        )
    else:
        store.share(secrets.BOX, box)
    config = ServerConfig(
        base_url=settings.public_url(),
        data_dir=settings.data_dir,
        runner_lease_s=settings.runner_lease_s,
        runner_heartbeat_interval_s=settings.runner_heartbeat_interval_s,
        max_job_runtime_s=settings.max_job_runtime_s,
        log_cap_bytes=settings.log_cap_bytes,
        cache_retention_s=settings.cache_retention_days * 86400.0,
        max_upload_bytes=settings.max_upload_bytes,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.migrate()
        stop = asyncio.Event()
        loops = [asyncio.create_task(run_reaper(store, interval_s=settings.reaper_interval_s, stop=stop))]
        loops += loops_hooks.start(
            store, mirrors_dir=settings.data_dir / "mirrors", base_url=settings.public_url(), stop=stop
        )
        if not store.is_sqlite:
            loops.append(asyncio.create_task(listen_postgres(_asyncpg_dsn(settings), store.waker, stop)))
        try:
            yield
        finally:
            stop.set()
            for task in loops:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await store.close()

    app = FastAPI(
        title="circlet", version="2", lifespan=lifespan, docs_url="/api/docs", openapi_url="/api/openapi.json"
    )
    app.state.store = store
    app.state.config = config
    app.state.files = FileStore(settings.data_dir / "storage")  # caches, workspaces, artifacts
    app.state.output_watch = OutputWatch()  # live logs: readers woken by appends and step ends
    app.state.logs = LiveLogs(settings.data_dir / "logs", app.state.output_watch)
    app.state.output_sizes = SizeRecords()  # how often a running step's output size is committed
    app.state.output_leases = OutputLeases()  # output uploads read their task's lease about once a second
    install_error_handlers(app)
    app.include_router(runner.router)  # first: routes are matched in order, and runners call most
    for module in (me, projects, pipelines, workflows, jobs):
        app.include_router(module.router, prefix=V2)
    app.include_router(config_routes.router, prefix=V2)  # continuation, compile-config-with-defaults
    for module in (
        envvar_routes,
        context_routes,
        control_routes,
        checkout_key_routes,
        project_settings_routes,
    ):  # settings, secrets and workflow control
        app.include_router(module.router, prefix=V2)
    app.include_router(insights_routes.router, prefix=V2)
    app.include_router(live_routes.router, prefix=V2)  # live step output (SSE)
    for module in (schedule_routes, webhook_routes):  # schedules and outbound webhooks
        app.include_router(module.router, prefix=V2)
    app.include_router(push_routes.router)
    app.include_router(legacy.router)
    app.include_router(legacy_v1_routes.router)  # the rest of the v1.1 subset
    app.include_router(timing_routes.router)  # test timings for circleci tests split
    app.include_router(artifact_routes.router, prefix=V2)  # a job's artifacts and tests
    app.include_router(artifact_routes.downloads)
    app.include_router(storage_routes.router)  # caches, workspaces, artifacts, test results
    mount_web(
        app, data_dir=settings.data_dir, secret_key=settings.secret_key, public_url=settings.public_url()
    )
    return app


def _asyncpg_dsn(settings: Settings) -> str:
    return settings.resolved_database_url().replace("postgresql+asyncpg://", "postgresql://", 1)
