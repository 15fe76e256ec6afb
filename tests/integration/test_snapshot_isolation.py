"""PostgreSQL reads see one snapshot, and the level does not outlive them in the pool."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from projections.queries import snapshot
from projections.rawreads import StatementCache, _execute, raw_snapshot
from service.storage.database import DatabaseConfig, create_sql_engine

pytestmark = pytest.mark.postgres
SHOW = "SHOW transaction_isolation"


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = create_sql_engine(DatabaseConfig.parse(pg_database))
    yield engine
    engine.dispose()


def test_both_snapshots_read_at_repeatable_read_and_hand_back_the_default(
    engine: Engine,
) -> None:
    with raw_snapshot(engine, StatementCache()) as read:
        _execute(read._conn, read._cursor, SHOW, ())
        assert read._cursor.fetchall() == [("repeatable read",)]
        raw = read._conn.connection.dbapi_connection
    # Back in the pool, that connection begins at the server's default again.
    assert raw is not None
    assert raw.isolation_level != psycopg.IsolationLevel.REPEATABLE_READ
    with engine.connect() as conn, snapshot(conn):
        assert conn.exec_driver_sql(SHOW).scalar() == "repeatable read"
        raw = conn.connection.dbapi_connection
    assert raw is not None
    assert raw.isolation_level != psycopg.IsolationLevel.REPEATABLE_READ
    with engine.connect() as conn:
        assert conn.exec_driver_sql(SHOW).scalar() == "read committed"
