"""PostgreSQL reads see one snapshot, and their settings do not outlive them in the pool."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from projections.reads.queries import snapshot
from projections.reads.rawreads import StatementCache, _execute, raw_statement
from service.storage.database import DatabaseConfig, create_sql_engine

pytestmark = pytest.mark.postgres
SHOW = "SHOW transaction_isolation"


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = create_sql_engine(DatabaseConfig.parse(pg_database))
    yield engine
    engine.dispose()


def test_one_statement_reads_run_outside_a_transaction_and_hand_back_the_default(
    engine: Engine,
) -> None:
    with raw_statement(engine, StatementCache()) as read:
        raw = read._conn.connection.dbapi_connection
        assert raw is not None
        _execute(read._conn, read._cursor, "SELECT 1", ())
        assert read._cursor.fetchall() == [(1,)]
        # Autocommit: no BEGIN went before the statement, and nothing is left to end.
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert not raw.autocommit  # back in the pool, its next statement begins a transaction
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert conn.connection.dbapi_connection is raw
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


def test_snapshots_read_at_repeatable_read_and_hand_back_the_default(engine: Engine) -> None:
    with engine.connect() as conn, snapshot(conn):
        assert conn.exec_driver_sql(SHOW).scalar() == "repeatable read"
        raw = conn.connection.dbapi_connection
    assert raw is not None
    assert raw.isolation_level != psycopg.IsolationLevel.REPEATABLE_READ
    with engine.connect() as conn:
        assert conn.exec_driver_sql(SHOW).scalar() == "read committed"
