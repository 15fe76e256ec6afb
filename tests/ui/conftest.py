"""A real headless Chromium (Debian's ``chromium``) driven by Playwright, against a real server.

The browser tests are skipped when /usr/bin/chromium is absent, unless
SLA_TEST_REQUIRE_BROWSER=1 (as in CI), where a missing browser is a failure.
Nothing here downloads a browser: ``playwright install`` is never run.
Screenshots go to tests/.artifacts/ (ignored by git).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.settings import Settings
from tests.support.server import ADMIN_TOKEN, admin_client, running_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REFRESH_SECONDS = 1.0


def _require_browser() -> bool:
    return os.environ.get("SLA_TEST_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        if _require_browser():
            pytest.fail(
                f"SLA_TEST_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)"
            )
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('ui') / 'slaclock.db'}"


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        ui_refresh_seconds=REFRESH_SECONDS,
        min_position_timeout_seconds=5.0,
    )
    with running_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with admin_client(base_url) as http:
        yield http


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
