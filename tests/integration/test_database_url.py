"""A real PostgreSQL connection made from the whole SLA_DATABASE_URL."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy.exc
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import Environment
from sqlalchemy import text

from projections.lock import AdvisoryLock
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore
from service.storage.pgstore import SlaclockPostgresFactory
from tests.support.server import free_port

pytestmark = pytest.mark.postgres


def with_query(url: str, query: str, *, hosts: int = 1) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if hosts > 1:
        auth, _, hostport = netloc.rpartition("@")
        netloc = (auth + "@" if auth else "") + ",".join([hostport] * hosts)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def settings_seen(url: str) -> tuple[str, str]:
    """application_name as the event store's pool and the SQLAlchemy engine each see it."""
    config = DatabaseConfig.parse(url)
    store = EventStore(config)
    engine = create_sql_engine(config)
    try:
        with store.recorder.datastore.transaction() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT current_setting('application_name') AS name")
            from_store = str(cursor.fetchone()["name"])
        with engine.connect() as connection:
            query = text("SELECT current_setting('application_name')")
            from_engine = str(connection.execute(query).scalar())
        return from_store, from_engine
    finally:
        store.close()
        engine.dispose()


def test_query_parameters_reach_the_server(pg_database: str) -> None:
    url = with_query(pg_database, "application_name=slaclock-test")
    assert settings_seen(url) == ("slaclock-test", "slaclock-test")


def test_a_multi_host_url_connects(pg_database: str) -> None:
    url = with_query(
        pg_database, "target_session_attrs=read-write&application_name=slaclock-multi", hosts=2
    )
    assert ",".join([urlsplit(pg_database).netloc.rpartition("@")[2]] * 2) in url
    assert settings_seen(url) == ("slaclock-multi", "slaclock-multi")


def test_sslmode_require_is_enforced_not_dropped(pg_database: str) -> None:
    """This server has no TLS: with sslmode=require, connecting must fail, never go plain."""
    with psycopg.connect(pg_database, autocommit=True) as connection:
        row = connection.execute("SHOW ssl").fetchone()
    assert row == ("off",), "the test needs a server without TLS"
    config = DatabaseConfig.parse(with_query(pg_database, "sslmode=require"))
    # What the event store's pool connects with (its conninfo is the URL: unit tests).
    with pytest.raises(psycopg.OperationalError, match="SSL"):
        config.connect_postgres()
    factory = SlaclockPostgresFactory(Environment("slaclock", config.eventsourcing_env()))
    try:
        with pytest.raises(OperationalError):
            factory.application_recorder()
    finally:
        factory.close()
    engine = create_sql_engine(config)
    try:
        with pytest.raises(sqlalchemy.exc.OperationalError, match="SSL"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_a_host_that_is_down_is_skipped_for_the_next_one(pg_database: str) -> None:
    # A failed-over primary: the URL names it first, but only the second node answers.
    parts = urlsplit(pg_database)
    auth, _, live = parts.netloc.rpartition("@")
    dead = f"127.0.0.1:{free_port()}"
    netloc = (auth + "@" if auth else "") + f"{dead},{live}"
    query = "target_session_attrs=read-write&application_name=slaclock-second"
    url = urlunsplit(parts._replace(netloc=netloc, query=query))
    assert settings_seen(url) == ("slaclock-second", "slaclock-second")
    engine = create_sql_engine(DatabaseConfig.parse(url))
    lock = AdvisoryLock(engine, key=0x51A_C10C_7E57)
    try:
        assert lock.acquire()
    finally:
        lock.release()
        engine.dispose()
