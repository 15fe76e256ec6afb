"""The follower commits without waiting for the disk (its rows are derived and commit with
their position): no fsync on SQLite, ``synchronous_commit=off`` on PostgreSQL; and it gives
its connection back to the pool as durable as it found it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine

from projections.follower import Follower
from projections.schema import tables_for
from projections.tracking import ensure_schema, read_position
from service.storage.eventstore import EventStore
from tests.conftest import temporary_database
from tests.integration.test_projection_support import T0, LogWriter, database

NORMAL, FULL = 1, 2


def synchronous(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def synchronous_commit(conn: Connection) -> str:
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())


def follow_one_ticket(
    store: EventStore, engine: Engine, setting: Callable[[Connection], object]
) -> tuple[object, object, int]:
    """Follow a one-ticket log: ``setting`` of the follower's connection while it held it,
    that connection's driver session, and the log's last position."""
    ensure_schema(engine)
    writer = LogWriter(store)
    writer.calendar("office")
    writer.policy("gold")
    last = writer.opened("D-1", T0, priority="P1")
    follower = Follower(engine, store)
    try:
        while follower.step(500):
            pass
        assert follower._conn is not None
        return setting(follower._conn), follower._conn.connection.driver_connection, last
    finally:
        follower.close()


def test_the_follower_skips_the_fsync_and_restores_it(tmp_path: Path) -> None:
    with database(f"sqlite:///{tmp_path / 'slaclock.db'}") as (store, engine):
        held, session, last = follow_one_ticket(store, engine, synchronous)
        assert held == NORMAL
        # The pool hands the same connection out again: durable, as the engine set it.
        with engine.connect() as conn:
            assert conn.connection.driver_connection is session  # the pool's only connection
            assert synchronous(conn) == FULL
            assert read_position(conn, tables_for(1)) == last


def test_on_postgresql_the_follower_commits_asynchronously_and_restores_it(
    postgres_url: str,
) -> None:
    with temporary_database(postgres_url) as url, database(url) as (store, engine):
        held, session, last = follow_one_ticket(store, engine, synchronous_commit)
        assert held == "off"
        with engine.connect() as conn:
            assert conn.connection.driver_connection is session  # the pool's only connection
            assert synchronous_commit(conn) == "on"
            assert read_position(conn, tables_for(1)) == last
