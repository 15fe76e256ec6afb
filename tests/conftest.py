"""Shared fixtures: the PostgreSQL server the `postgres` tests run against.

SLA_TEST_POSTGRES_URL names a server (e.g. postgresql://postgres@127.0.0.1:5432/postgres).
When it is unset the PostgreSQL tests are skipped, unless SLA_TEST_REQUIRE_POSTGRES=1
(as in CI), where a missing server is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

# The suite runs `slaclock serve`'s projections in a thread: the default, a child
# process, would add a process start to every test server. The default is served by
# tests/api/test_projection_process.py and tests/api/test_ingest_logs.py.
os.environ.setdefault("SLA_PROJECTIONS_CHILD_PROCESS", "false")


def _require_postgres() -> bool:
    return os.environ.get("SLA_TEST_REQUIRE_POSTGRES", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("SLA_TEST_POSTGRES_URL", "").strip()
    if not url:
        if _require_postgres():
            pytest.fail("SLA_TEST_REQUIRE_POSTGRES=1 but SLA_TEST_POSTGRES_URL is not set")
        pytest.skip(
            "PostgreSQL tests need SLA_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1/postgres)"
        )
    return url


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _libpq_url(url: str) -> str:
    # psycopg wants plain postgresql://, not SQLAlchemy's postgresql+psycopg://.
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


@contextmanager
def temporary_database(server_url: str, prefix: str = "slaclock_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database on ``server_url``; its URL. Dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = _libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database for one test module; its URL. Dropped afterwards."""
    with temporary_database(postgres_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The same test against an embedded SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'slaclock.db'}"
        return
    with temporary_database(request.getfixturevalue("postgres_url")) as url:
        yield url
