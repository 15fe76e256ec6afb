"""The one settings object. Nothing else in slaclock reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR / 'slaclock.db'}",
        description="sqlite:///path/file.db or postgresql://user@host:port/db",
    )
    admin_token: str | None = Field(default=None, description="bootstrap token, every scope")
    access_log: bool = Field(default=False, description="log every HTTP request")
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="request body limit")
    max_batch_items: int = 1000
    ingest_fast_lane: bool = Field(
        default=True, description="serve well-formed single events without FastAPI's routing"
    )
    group_commit_max_events: int = Field(default=2000, description="events per writer txn")
    projections_enabled: bool = Field(default=True, description="run projections in serve")
    projections_child_process: bool = Field(
        default=False, description="run serve's projections in a child process (else a thread)"
    )
    projection_batch_size: int = 500
    projection_poll_seconds: float = 0.05
    min_position_timeout_seconds: float = Field(default=5.0, description="min_position wait")
    store_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="a database call slower than this counts as an outage: 503 until it is back",
    )
    token_cache_seconds: float = Field(default=5.0, description="how long a token check is kept")
    test_postgres_url: str | None = Field(default=None, description="tests only")
    test_require_postgres: bool = Field(default=False, description="tests only")
