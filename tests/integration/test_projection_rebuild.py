"""A rebuild replays the log into fresh tables equal to the live ones, and switches atomically."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import timedelta

import pytest
from eventsourcing.domain import DomainEvent
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from projections.rebuild import Progress, rebuild
from projections.runner import ProjectionRunner
from projections.schema import tables_for
from projections.tracking import live_generation
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    database,
    follow_all,
    snapshot,
    write_scenario,
)


class BrokenLog:
    """The real log, failing after ``pages`` reads (a rebuild interrupted midway)."""

    def __init__(self, store: EventStore, pages: int) -> None:
        self.store = store
        self.pages = pages

    def read_after(self, position: int, limit: int) -> Sequence[tuple[int, DomainEvent]]:
        self.pages -= 1
        if self.pages < 0:
            raise ConnectionError("the log went away")
        return self.store.read_after(position, limit)

    def max_position(self) -> int:
        return self.store.max_position()


def _generation(engine: Engine) -> int:
    with engine.connect() as conn:
        return live_generation(conn)


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {name for name in inspect(conn).get_table_names() if name.startswith("slaproj_g")}


def test_rebuild_equals_the_live_tables_row_for_row(database_url: str) -> None:
    with database(database_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=40, seed=21)
        follow_all(engine, store, batch=37)
        live = snapshot(engine)
        out = io.StringIO()
        result = rebuild(engine, store, batch_size=64, progress=Progress(out), grace_seconds=0)
        assert (result.generation, result.replaced) == (2, 1)
        assert result.events == store.max_position()
        assert _generation(engine) == 2
        assert snapshot(engine) == live
        assert not any(name.startswith("slaproj_g1_") for name in _tables(engine))
        assert "100.0%" in out.getvalue()
        assert "generation 2 is live" in out.getvalue()


def test_an_interrupted_rebuild_leaves_the_live_tables_serving(database_url: str) -> None:
    with database(database_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=20, seed=2)
        follow_all(engine, store)
        live = snapshot(engine)
        with pytest.raises(ConnectionError):
            rebuild(engine, BrokenLog(store, pages=1), batch_size=10, grace_seconds=0)
        assert _generation(engine) == 1
        assert snapshot(engine) == live
        result = rebuild(engine, store, grace_seconds=0)  # drops the half-built generation
        assert result.generation == 3
        assert snapshot(engine) == live
        assert {name.split("_")[1] for name in _tables(engine)} == {"g3"}


def test_rebuild_while_the_worker_follows_new_writes(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        write_scenario(writer, tickets=30, seed=4)
        follow_all(engine, store)
        runner = ProjectionRunner(engine, store, batch_size=20, poll_seconds=0.01)
        runner.start()
        stop = threading.Event()

        def keep_writing() -> None:
            i = 0
            while not stop.is_set():
                writer.opened(f"LIVE-{i}", T0 + timedelta(minutes=i), priority="P2")
                i += 1

        thread = threading.Thread(target=keep_writing)
        thread.start()
        try:
            rebuild(engine, store, batch_size=50, grace_seconds=0.2)
        finally:
            stop.set()
            thread.join()
        head = store.max_position()
        deadline = threading.Event()
        for _ in range(500):
            if runner.stats.position >= head and _generation(engine) == 2:
                break
            deadline.wait(0.02)
        runner.stop()
        assert runner.stats.position == head
        after_switch = snapshot(engine)
        rebuild(engine, store, grace_seconds=0)  # from zero again, with every write
        assert snapshot(engine) == after_switch


class DecodedOnly:
    """A log offering only decoded events (no recorder table): the rebuild stages it first."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def read_after(self, position: int, limit: int) -> Sequence[tuple[int, DomainEvent]]:
        return self.store.read_after(position, limit)

    def max_position(self) -> int:
        return self.store.max_position()


class RawOnly(DecodedOnly):
    """Raw records and the decoder, but no table to read by aggregate."""

    def read_notifications_after(self, position: int, limit: int) -> Sequence[object]:
        return self.store.read_notifications_after(position, limit)

    def decode(self, stored: object) -> DomainEvent:
        return self.store.decode(stored)  # type: ignore[arg-type]


def test_every_rebuild_path_gives_the_live_rows(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        write_scenario(writer, tickets=25, seed=8)
        # Data the fast JSON reader leaves to the library's decoder (a nested value).
        writer.event("S-1", "responded", T0 + timedelta(days=9), note="x", actor="y")
        writer.append(
            writer.ticket_event("ODD-1", "opened", T0, plan="gold", tags=["a", "b"], priority="P1")
        )
        follow_all(engine, store, batch=11)
        live = snapshot(engine)
        assert any(row[0] == "ODD-1" for row in live["tickets"])
        for log, workers in ((DecodedOnly(store), 0), (RawOnly(store), 0), (store, 0), (store, 2)):
            rebuild(engine, log, grace_seconds=0, workers=workers)
            assert snapshot(engine) == live, (type(log).__name__, workers)


def _keys(engine: Engine, generation: int) -> dict[str, list[str]]:
    """Each big table's unique key columns, however the database declares them."""
    keys = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for name in ("tickets", "clocks"):
            table = f"slaproj_g{generation}_{name}"
            key = inspector.get_pk_constraint(table)["constrained_columns"]
            unique = [i["column_names"] for i in inspector.get_indexes(table) if i["unique"]]
            keys[name] = [str(column) for column in key or unique[0]]
    return keys


def test_a_rebuilt_generation_has_the_keys_of_a_live_one(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        write_scenario(writer, tickets=10, seed=5)
        follow_all(engine, store)
        live = _keys(engine, 1)
        assert live == {"tickets": ["ticket_id"], "clocks": ["ticket_id", "metric"]}
        rebuild(engine, store, grace_seconds=0)
        assert _keys(engine, 2) == live
        tables = tables_for(2)
        with engine.connect() as conn:
            row = conn.execute(tables.clocks.select().limit(1)).mappings().one()
            with pytest.raises(IntegrityError):
                conn.execute(tables.clocks.insert().values(dict(row)))
        # The live worker's upserts need those keys: it follows on the rebuilt generation.
        writer.event("S-1", "responded", T0 + timedelta(days=9))
        before = snapshot(engine)
        follow_all(engine, store)
        assert snapshot(engine) != before


def test_a_step_of_many_new_tickets_then_their_updates_equals_the_rebuild(
    database_url: str,
) -> None:
    """New rows are inserted, not upserted (by COPY on PostgreSQL past 1,000 rows): a
    step of 1,200 new tickets, then steps that rewrite some and add more."""
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for n in range(1200):
            writer.opened(f"N-{n}", T0 + timedelta(seconds=n), priority="P1")
        follow_all(engine, store, batch=5000)
        for n in range(0, 1200, 7):
            writer.event(f"N-{n}", "responded", T0 + timedelta(seconds=n, minutes=5))
            writer.opened(f"M-{n}", T0 + timedelta(seconds=n))
        follow_all(engine, store, batch=5000)
        live = snapshot(engine)
        assert len(live["tickets"]) == 1200 + 172
        rebuild(engine, store, grace_seconds=0)
        assert snapshot(engine) == live
