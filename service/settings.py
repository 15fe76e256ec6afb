"""The one settings object. Nothing else in slaclock reads the environment."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="the least severe level logged"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text lines, or one JSON object per line"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="time a client has to send a whole request body (408)"
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="time a client has to send a request's headers (408)"
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, description="idle time before a kept-alive connection is closed"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="request body limit")
    max_batch_items: int = 1000
    ingest_fast_lane: bool = Field(
        default=True, description="serve well-formed single events without FastAPI's routing"
    )
    read_fast_lane: bool = Field(
        default=True, description="serve well-formed ticket listings without FastAPI's routing"
    )
    group_commit_max_events: int = Field(default=2000, description="events per writer txn")
    projections_enabled: bool = Field(default=True, description="run projections in serve")
    projections_child_process: bool = Field(
        default=True, description="run serve's projections in a child process (else a thread)"
    )
    projection_give_way_seconds: float = Field(
        default=2.0,
        ge=0,
        description=(
            "serve's projection child computes at the idle CPU priority (Linux SCHED_IDLE)"
            " until it has been behind this long; 0: always at normal priority"
        ),
    )
    ingest_max_lag_seconds: float = Field(
        default=1.0,
        ge=0,
        description=(
            "serve holds new writes while its in-process projections are more than this"
            " many seconds behind its writes; 0: never"
        ),
    )
    projection_batch_size: int = 500
    projection_poll_seconds: float = 0.05
    min_position_timeout_seconds: float = Field(default=5.0, description="min_position wait")
    ui_refresh_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="how often the dashboard overview re-reads its clocks",
    )
    ui_compliance_max_age_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="how old the overview's compliance figures may be before a re-read",
    )
    store_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="a database call slower than this counts as an outage: 503 until it is back",
    )
    sqlite_lock_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        description="SQLite: how long a write may wait for another connection's write lock "
        "(a rebuild, the projections' catch-up) before requests get 503",
    )
    auto_migrate: bool = Field(
        default=False,
        description="upgrade a database schema behind this release at start (else refuse to start)",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="webhooks: how long a receiver has to answer a delivery"
    )
    webhook_concurrency: int = Field(
        default=16, ge=1, le=1000, description="webhooks: deliveries in flight per destination"
    )
    webhook_retry_scale: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="webhooks: shrinks the retry schedule (1 = 5 s to 6 h waits over 27 h; "
        "drills and tests only)",
    )
    webhook_notice_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="webhooks: how often allowance_low and credit_claimable are looked for",
    )
    token_cache_seconds: float = Field(default=5.0, description="how long a token check is kept")
    test_postgres_url: str | None = Field(default=None, description="tests only")
    test_require_postgres: bool = Field(default=False, description="tests only")
    test_require_browser: bool = Field(default=False, description="tests only")


ENV_PREFIX = "SLA_"


def known_variables() -> frozenset[str]:
    return frozenset(ENV_PREFIX + name.upper() for name in Settings.model_fields)


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One message per ``SLA_*`` variable that names no setting: a typo must not pass silently."""
    source = os.environ if environ is None else environ
    known = known_variables()
    messages = []
    for name in sorted(k for k in source if k.upper().startswith(ENV_PREFIX)):
        if name.upper() in known:
            continue
        nearest = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean {nearest[0]}?)" if nearest else ""
        messages.append(f"unknown setting {name}{hint}")
    return messages
