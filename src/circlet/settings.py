"""Settings read once from the environment (prefix ``CIRCLET_``). Only entry points build them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "circlet"


class Settings(BaseSettings):
    """Server and CLI settings; frozen once built."""

    model_config = SettingsConfigDict(env_prefix="CIRCLET_", frozen=True, extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""  #: empty means SQLite in the data dir
    #: SQLite's ``synchronous`` in WAL mode: ``normal`` survives any crash of circlet or the host's
    #: processes, though a power cut may lose the last commits; ``full`` syncs every commit
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = ""  #: public URL of the server; derived from host/port when empty
    runner_lease_s: float = 60.0  #: a silent runner loses its job after this
    runner_heartbeat_interval_s: float = 2.0  #: also how soon a runner learns of a cancel
    reaper_interval_s: float = 5.0
    max_job_runtime_s: float = 5 * 3600.0
    log_cap_bytes: int = 0  #: 0 means no cap on a step's stored output
    cache_retention_days: float = 15.0  #: saved caches are restorable this long (CircleCI's default)
    max_upload_bytes: int = 0  #: cap on one cache, workspace layer or artifact upload; 0 means none
    secret_key: str = ""  #: encrypts secrets at rest; a key file in the data dir when empty

    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL, SQLite in the data dir by default."""
        return to_async_url(self.database_url or f"sqlite:///{self.data_dir / 'circlet.db'}")

    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


def to_async_url(url: str) -> str:
    """Map plain ``sqlite://`` and ``postgresql://`` URLs to their async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url
