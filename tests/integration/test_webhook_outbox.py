"""Webhook marks and outbox rows move with the projection's transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from eventsourcing.domain import DomainEvent
from sqlalchemy import Connection, Engine, select

from domain.business_time import to_us
from domain.webhooks.transitions import Mark
from projections.follower import Follower
from projections.projector import Projector
from projections.tracking import ensure_schema, write_transaction
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import mark_row, wall_us
from projections.webhooks.schedule import fire_due
from projections.webhooks.tables import deliveries, marks
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import T0, LogWriter, database, follow_all

ALL = frozenset({"at_risk", "breached", "met", "breach_retracted"})


def subscribe(engine: Engine) -> None:
    ensure_schema(engine)
    sub = subs.Subscription(
        "wh_t", "http://example.com/h", ALL, {"plan": frozenset({"gold"})}, 1, "whsec_x"
    )
    with engine.connect() as conn, write_transaction(conn):
        subs.insert(conn, sub)


def subscribed_log(store: EventStore, engine: Engine) -> LogWriter:
    """A log with the office calendar and the gold plan, and a subscription to it."""
    subscribe(engine)
    writer = LogWriter(store)
    writer.calendar("office")
    writer.policy("gold")
    return writer


def mark_of(engine: Engine, ticket: str, metric: str = "response") -> dict[str, object] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(select(marks).where(marks.c.ticket_id == ticket, marks.c.metric == metric))
            .mappings()
            .first()
        )
    return None if row is None else dict(row)


def announced(engine: Engine, ticket: str) -> list[str]:
    query = (
        select(deliveries.c.kind)
        .where(deliveries.c.ticket_id == ticket, deliveries.c.metric == "response")
        .order_by(deliveries.c.created_at_us, deliveries.c.kind)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def test_a_pause_and_a_late_response_move_the_schedule_and_retract(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = subscribed_log(store, engine)
        writer.opened("W-1", T0, priority="P1")  # 24x7: response 1 h, resolution 8 h
        follow_all(engine, store)
        mark = mark_of(engine, "W-1")
        assert mark is not None
        assert mark["due_at_us"] == to_us(T0 + timedelta(hours=1))
        assert mark["next_us"] == to_us(T0 + timedelta(minutes=45))  # warning fraction 0.75
        writer.event("W-1", "awaiting_customer", T0 + timedelta(minutes=10))
        follow_all(engine, store)
        # the resolution clock is paused: nothing to fire, nothing announced
        assert mark_of(engine, "W-1", "resolution") is None
        writer.event("W-1", "customer_replied", T0 + timedelta(minutes=30))
        follow_all(engine, store)
        mark = mark_of(engine, "W-1", "resolution")
        assert mark is not None
        assert mark["due_at_us"] == to_us(T0 + timedelta(minutes=500))
        assert fire_due(engine, wall_us()) == 2  # long past: the breaches alone are announced
        assert announced(engine, "W-1") == ["breached"]
        writer.event("W-1", "responded", T0 + timedelta(minutes=5))  # late: it was met
        follow_all(engine, store)
        assert mark_of(engine, "W-1") is None
        assert sorted(announced(engine, "W-1")) == ["breach_retracted", "breached", "met"]
        assert fire_due(engine, wall_us()) == 0


class SimulatedCrash(Exception):
    pass


class CrashingFollower(Follower):
    def apply(
        self, conn: Connection, projector: Projector, batch: Sequence[tuple[int, DomainEvent]]
    ) -> None:
        super().apply(conn, projector, batch)
        assert conn.execute(select(deliveries.c.id)).first() is not None  # it wrote some
        raise SimulatedCrash


def test_outbox_rows_roll_back_with_the_batch(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = subscribed_log(store, engine)
        for n in range(5):
            writer.opened(f"C-{n}", T0, priority="P1")
            writer.event(f"C-{n}", "responded", T0 + timedelta(minutes=2))
        crashing = CrashingFollower(engine, store)
        with pytest.raises(SimulatedCrash):
            crashing.step(100)
        crashing.close()
        with engine.connect() as conn:
            assert conn.execute(select(deliveries.c.id)).first() is None
        follow_all(engine, store)
        assert all(announced(engine, f"C-{n}") == ["met"] for n in range(5))


def test_a_rebuild_announces_nothing_again(database_url: str) -> None:
    from projections.rebuild import rebuild

    with database(database_url) as (store, engine):
        writer = subscribed_log(store, engine)
        writer.opened("R-1", T0, priority="P1")
        writer.event("R-1", "responded", T0 + timedelta(minutes=2))
        follow_all(engine, store)
        assert announced(engine, "R-1") == ["met"]
        rebuild(engine, store)
        follow_all(engine, store)
        assert announced(engine, "R-1") == ["met"]


def _stale_mark(engine: Engine, ticket: str, metric: str = "response") -> None:
    """A mark with no clock row behind it, as a generation replaced by a rebuild can leave."""
    clock = {"ticket_id": ticket, "metric": metric, "plan": "gold"}
    row = mark_row(clock, Mark(breached=True))
    with engine.connect() as conn, write_transaction(conn):
        conn.execute(marks.insert().values(row))


def test_a_rebuild_going_live_drops_the_marks_of_clocks_it_has_not(database_url: str) -> None:
    from projections.rebuild import rebuild

    with database(database_url) as (store, engine):
        writer = subscribed_log(store, engine)
        writer.opened("R-1", T0, priority="P1")
        follow_all(engine, store)
        _stale_mark(engine, "GONE-1")
        rebuild(engine, store)
        assert mark_of(engine, "GONE-1") is None
        assert mark_of(engine, "R-1") is not None  # its clock is in the new generation
        # The clock appears at last: scheduled as a new one, nothing announced yet.
        writer.opened("GONE-1", T0 + timedelta(days=3650), priority="P1")
        follow_all(engine, store)
        mark = mark_of(engine, "GONE-1")
        assert mark is not None
        assert not mark["breached"]
        assert mark["due_at_us"] == to_us(T0 + timedelta(days=3650, hours=1))
        assert announced(engine, "GONE-1") == []


def test_a_new_clock_replaces_a_stale_mark_without_failing(database_url: str) -> None:
    """A database written before rebuilds dropped such marks may still hold one: the new
    clock's mark takes its place (the batch must not fail on the key)."""
    with database(database_url) as (store, engine):
        writer = subscribed_log(store, engine)
        follow_all(engine, store)
        _stale_mark(engine, "S-1")
        writer.opened("S-1", T0 + timedelta(days=3650), priority="P1")
        assert follow_all(engine, store) == store.max_position()
        mark = mark_of(engine, "S-1")
        assert mark is not None
        assert not mark["breached"]
        assert mark["next_us"] == to_us(T0 + timedelta(days=3650, minutes=45))
