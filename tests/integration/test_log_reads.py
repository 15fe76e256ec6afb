"""A PostgreSQL log read is one statement on an autocommit connection: one round trip."""

from __future__ import annotations

import pytest

from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore
from tests.conftest import temporary_database

pytestmark = pytest.mark.postgres


def test_a_log_read_is_the_first_statement_of_its_transaction(postgres_url: str) -> None:
    # PostgreSQL's statement and transaction timestamps are equal only during the first
    # statement of a transaction: after a separate BEGIN (a round trip of its own) they
    # differ. Every log read (the follower's, the writer's histories) goes through _fetch.
    with temporary_database(postgres_url) as url:
        store = EventStore(DatabaseConfig.parse(url))
        try:
            for _ in range(5):
                [row] = store._fetch("SELECT statement_timestamp() = now() AS first", [])
                assert row == (True,)
            assert store.read_records_after(0, 10) == []
        finally:
            store.close()
