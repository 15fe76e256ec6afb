"""The projection follows the log exactly once, whatever the batches and however it crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest
from eventsourcing.domain import DomainEvent
from sqlalchemy import Connection, Engine, func, select

from projections.follower import Follower
from projections.projector import Projector
from projections.schema import create_generation, tables_for
from projections.tracking import ensure_schema, read_position, write_transaction
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    clock_rows,
    database,
    snapshot,
    write_scenario,
)


class SimulatedCrash(Exception):
    pass


def follow(engine: Engine, store: EventStore, batch: int, generation: int | None = None) -> int:
    follower = Follower(engine, store, generation=generation)
    try:
        while follower.step(batch):
            pass
        return follower.position
    finally:
        follower.close()


def clean_generation(engine: Engine, store: EventStore) -> int:
    """A clean run from zero into a fresh generation of the same database."""
    with engine.connect() as conn, write_transaction(conn):
        create_generation(conn, 9)
    follow(engine, store, 500, generation=9)
    return 9


def test_rows_follow_the_log(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("A-1", T0 + timedelta(minutes=5), priority="P2", customer="acme")
        last = writer.event("A-1", "responded", T0 + timedelta(hours=1))
        ensure_schema(engine)
        assert follow(engine, store, 500) == last
        rows = clock_rows(engine)
        response, resolution = rows[("A-1", "response")], rows[("A-1", "resolution")]
        assert (response["state"], response["outcome"]) == ("stopped", "met")
        assert response["elapsed_seconds"] == 55 * 60
        assert (resolution["state"], resolution["outcome"]) == ("running", "pending")
        assert resolution["customer"] == "acme"
        assert resolution["running_due_us"] == resolution["due_at_us"]


def test_batch_boundaries_do_not_change_the_rows(database_url: str) -> None:
    with database(database_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=25)
        ensure_schema(engine)
        follow(engine, store, 1)
        clean = clean_generation(engine, store)
        assert snapshot(engine, 1) == snapshot(engine, clean)
        assert len(snapshot(engine, 1)["clocks"]) > 40


def test_position_is_committed_with_the_rows(database_url: str) -> None:
    with database(database_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=10)
        ensure_schema(engine)
        follower = Follower(engine, store)
        assert follower.step(7) == 7
        with engine.connect() as conn:
            tables = tables_for(1)
            assert read_position(conn, tables) == follower.position == 7
        follower.close()


def test_crash_between_batches_resumes_where_it_stopped(database_url: str) -> None:
    with database(database_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=25)
        ensure_schema(engine)
        first = Follower(engine, store)
        for _ in range(3):
            first.step(13)
        first.close()  # the process dies right after its third commit
        follow(engine, store, 13)
        assert snapshot(engine, 1) == snapshot(engine, clean_generation(engine, store))


class CrashingFollower(Follower):
    """Dies inside its transaction after writing part of a batch (before the commit)."""

    def __init__(self, engine: Engine, store: EventStore, after: int) -> None:
        super().__init__(engine, store)
        self.after = after
        self.wrote: int | None = None

    def apply(
        self, conn: Connection, projector: Projector, batch: Sequence[tuple[int, DomainEvent]]
    ) -> None:
        super().apply(conn, projector, batch[: self.after])
        counted = select(func.count()).select_from(projector.tables.clocks)
        self.wrote = conn.execute(counted).scalar()
        raise SimulatedCrash


def test_crash_after_a_partial_batch_leaves_nothing_behind(database_url: str) -> None:
    with database(database_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=25)
        ensure_schema(engine)
        follow_some = Follower(engine, store)
        follow_some.step(40)
        follow_some.close()
        before = snapshot(engine, 1)
        crashing = CrashingFollower(engine, store, after=30)
        with pytest.raises(SimulatedCrash):
            crashing.step(100)
        assert (crashing.wrote or 0) > len(before["clocks"])  # it had written rows
        assert snapshot(engine, 1) == before  # ... and none of it stayed
        follow(engine, store, 100)
        assert snapshot(engine, 1) == snapshot(engine, clean_generation(engine, store))


_WORKER = textwrap.dedent(
    """
    import sys
    from service.storage.database import DatabaseConfig, create_sql_engine
    from service.storage.eventstore import EventStore
    from projections.follower import Follower
    config = DatabaseConfig.parse(sys.argv[1])
    follower = Follower(create_sql_engine(config), EventStore(config, create_table=False))
    while follower.step(int(sys.argv[2])):
        pass
    """
)


def _position(engine: Engine) -> int:
    with engine.connect() as conn:
        return read_position(conn, tables_for(1))


def test_worker_killed_mid_run_resumes_to_a_clean_result(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        write_scenario(writer, tickets=60, seed=11)
        head = store.max_position()
        ensure_schema(engine)
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, database_url, "2"],
            env=os.environ | {"PYTHONPATH": os.getcwd()},
        )
        deadline = time.monotonic() + 60
        while _position(engine) < head // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        stopped_at = _position(engine)
        assert 0 < stopped_at < head, "the kill must land in the middle of the run"
        follow(engine, store, 50)
        assert _position(engine) == head
        assert snapshot(engine, 1) == snapshot(engine, clean_generation(engine, store))


class DecodedOnly:
    """The log without raw records: the follower gets every event decoded (its other path)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def read_after(self, position: int, limit: int) -> Sequence[tuple[int, DomainEvent]]:
        return self.store.read_after(position, limit)

    def max_position(self) -> int:
        return self.store.max_position()


def test_facts_read_from_stored_json_give_the_rows_decoded_events_give(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        write_scenario(writer, tickets=20)
        # Attributes (a nested document) make the raw reader hand the event to the decoder.
        writer.opened("N-1", T0 + timedelta(minutes=3), attributes={"region": {"eu": True}})
        writer.event("N-1", "responded", T0 + timedelta(hours=2), None, attributes={"n": [1]})
        ensure_schema(engine)
        follow(engine, store, 7)
        with engine.connect() as conn, write_transaction(conn):
            create_generation(conn, 9)
        follower = Follower(engine, DecodedOnly(store), generation=9)
        while follower.step(7):
            pass
        follower.close()
        assert snapshot(engine, 1) == snapshot(engine, 9)
        assert any(row[0] == "N-1" for row in snapshot(engine, 1)["tickets"])


def test_records_as_tuples_are_the_notifications(database_url: str) -> None:
    with database(database_url) as (store, _engine):
        write_scenario(LogWriter(store), tickets=6)
        records = store.read_records_after(3, 50)
        notifications = store.read_notifications_after(3, 50)
        assert len(records) == len(notifications) > 10
        for record, notification in zip(records, notifications, strict=True):
            position, key, version, topic, state = record
            assert (position, version, topic) == (
                notification.id,
                notification.originator_version,
                notification.topic,
            )
            assert str(key).replace("-", "") == notification.originator_id.hex
            assert state == bytes(notification.state)
