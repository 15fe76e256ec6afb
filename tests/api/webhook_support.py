"""Helpers for the webhook tests: a `slaclock webhooks` subprocess, tickets that breach soon."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.fixtures import define_plan, opened

CRITICAL_RESPONSE = timedelta(minutes=30)  # the Standard plan's critical response target, 24x7


def webhooks_argv() -> list[str]:
    return [sys.executable, "-m", "service.cli.main", "webhooks"]


def start_webhooks(
    database_url: str, retry_scale: float = 0.0005, notice_seconds: float = 0.5
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SLA_DATABASE_URL": database_url,
        "SLA_WEBHOOK_RETRY_SCALE": str(retry_scale),
        "SLA_WEBHOOK_NOTICE_SECONDS": str(notice_seconds),
        "SLA_WEBHOOK_TIMEOUT_SECONDS": "5",
        "SLA_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(webhooks_argv(), env=env, stderr=subprocess.DEVNULL)


@contextmanager
def webhooks_process(database_url: str, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    process = start_webhooks(database_url, **kwargs)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def open_critical(client: httpx.Client, plan: str, ticket: str, due_in: timedelta) -> datetime:
    """Open a critical ticket whose response clock (24x7, 30 min) is due ``due_in`` from now;
    returns the due instant (whole second)."""
    due = datetime.now(UTC).replace(microsecond=0) + due_in
    body = opened(f"{ticket}-o", plan, at=iso(due - CRITICAL_RESPONSE), priority="critical")
    response = client.post(f"/v1/tickets/{ticket}/events", json=body)
    assert response.status_code in (200, 201), response.text
    return due


def subscribe(client: httpx.Client, url: str, plan: str, kinds: list[str]) -> dict[str, Any]:
    body = {"url": url, "kinds": kinds, "filters": {"plan": [plan]}}
    response = client.post("/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_plan(client: httpx.Client, name: str) -> str:
    define_plan(client, f"{name}-cal", name)
    return name
