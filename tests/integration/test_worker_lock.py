"""The single-active worker lock on PostgreSQL: a held lock whose connection dies.

The projection worker asks its lock's connection at most once a second, not
before every step; exactly-once rests on the tracked position, not on the lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from projections.lock import AdvisoryLock
from service.storage.database import DatabaseConfig, create_sql_engine
from tests.support.waiting import eventually

pytestmark = pytest.mark.postgres
KEY = 0x51A_C10C_7E58


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = create_sql_engine(DatabaseConfig.parse(pg_database))
    yield engine
    engine.dispose()


HELD = "FROM pg_locks WHERE locktype = 'advisory' AND objid = :low AND granted"


def kill_holder(engine: Engine) -> None:
    """End the server session that holds the advisory lock, as a failover or a cut would,
    and wait until the server has freed the lock (the session ends after the signal)."""
    low = {"low": KEY & 0xFFFFFFFF}
    with engine.connect() as conn:
        ended = conn.execute(text(f"SELECT pg_terminate_backend(pid) {HELD}"), low).all()
        conn.commit()
    assert ended == [(True,)]

    def freed() -> bool:
        with engine.connect() as conn:
            return not conn.execute(text(f"SELECT 1 {HELD}"), low).all()

    assert eventually(freed)


def test_a_lock_asked_on_every_call_is_lost_with_its_connection(engine: Engine) -> None:
    lock, standby = AdvisoryLock(engine, KEY), AdvisoryLock(engine, KEY)
    try:
        assert lock.acquire()
        assert not standby.acquire()
        kill_holder(engine)
        assert not lock.acquire()  # the connection is asked, and found dead
        assert standby.acquire()
    finally:
        lock.release()
        standby.release()


def test_a_lock_trusted_between_pings_notices_the_loss_at_the_next_ping(engine: Engine) -> None:
    ping = 3.0  # well over what the kill below takes, even on a loaded machine
    lock, standby = AdvisoryLock(engine, KEY, ping_seconds=ping), AdvisoryLock(engine, KEY)
    try:
        assert lock.acquire()
        taken = time.monotonic()
        kill_holder(engine)
        assert time.monotonic() - taken < ping
        assert lock.acquire()  # within the window: trusted without a round trip
        assert standby.acquire()  # the server freed it: the standby may start meanwhile
        time.sleep(max(0.0, taken + ping + 0.1 - time.monotonic()))
        assert not lock.acquire()
    finally:
        lock.release()
        standby.release()
