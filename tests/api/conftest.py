"""A real server per test module and backend (SQLite file, fresh PostgreSQL database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from service.settings import Settings
from tests.conftest import temporary_database
from tests.support.receiver import Receiver
from tests.support.server import ADMIN_TOKEN, admin_client, free_port, running_server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api') / 'slaclock.db'}"
        return
    with temporary_database(request.getfixturevalue("postgres_url"), "slaclock_api") as url:
        yield url


@pytest.fixture(scope="module")
def base_url(module_database_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=module_database_url,
        admin_token=ADMIN_TOKEN,
        projections_enabled=False,
        min_position_timeout_seconds=1.0,
    )
    with running_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def projected_base_url(module_database_url: str) -> Iterator[str]:
    """A server with the projections following in process (webhooks need their outbox)."""
    settings = Settings(database_url=module_database_url, admin_token=ADMIN_TOKEN)
    with running_server(settings) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with admin_client(base_url) as http:
        yield http


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free port, not yet listening: a test starts it when it
    wants it up (one starts it late, to be down for a while)."""
    hook = Receiver(free_port())
    try:
        yield hook
    finally:
        hook.close()
