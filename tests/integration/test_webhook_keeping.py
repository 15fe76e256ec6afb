"""Clocks have marks only while a subscription exists (SQLite and PostgreSQL).

The first subscription marks the live clocks as of its creation; a live step in
flight while it is made either commits before the marks are written or sees the
subscription; the last subscription's removal drops the marks.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from eventsourcing.domain import DomainEvent
from sqlalchemy import Connection, Engine, func, select

from domain.business_time import to_us
from projections.follower import Follower
from projections.projector import Projector
from projections.tracking import ensure_schema, write_transaction
from projections.webhooks import keeping
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import wall_us
from projections.webhooks.schedule import fire_due
from projections.webhooks.tables import deliveries, marks
from tests.integration.test_projection_support import T0, LogWriter, database, follow_all
from tests.integration.test_webhook_outbox import ALL, announced, mark_of

WAIT = 10.0  # seconds a blocked side is given once it may go on


def subscription(sub_id: str = "wh_k") -> subs.Subscription:
    return subs.Subscription(sub_id, "http://example.com/h", ALL, {}, 1, "whsec_x")


def subscribe(engine: Engine, sub_id: str = "wh_k") -> int:
    with engine.connect() as conn, write_transaction(conn):
        return keeping.subscribe(conn, subscription(sub_id), wall_us())


def unsubscribe(engine: Engine, sub_id: str = "wh_k") -> bool:
    with engine.connect() as conn, write_transaction(conn):
        return keeping.unsubscribe(conn, sub_id)


def mark_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(marks)).scalar_one())


def office_log(engine: Engine, writer: LogWriter) -> None:
    ensure_schema(engine)
    writer.calendar("office")
    writer.policy("gold")


def test_marks_wait_for_the_first_subscription_and_go_with_the_last(database_url: str) -> None:
    now = datetime.now(UTC)
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        office_log(engine, writer)
        writer.opened("OLD", T0, priority="P1")  # long past due: breached by time
        writer.opened("MET", T0, priority="P1")
        writer.event("MET", "responded", T0 + timedelta(minutes=5))
        writer.opened("NEW", now - timedelta(minutes=10), priority="P1")  # response due in 50 min
        follow_all(engine, store)
        assert mark_count(engine) == 0  # no one to announce to: no marks

        assert subscribe(engine) == 5  # all but MET's response, which was met
        old = mark_of(engine, "OLD")
        assert old is not None
        assert (old["breached"], old["next_us"]) == (1, None)
        new = mark_of(engine, "NEW")
        assert new is not None
        assert (new["breached"], new["at_risk"]) == (0, 0)
        opened = now - timedelta(minutes=10)
        due = to_us(opened + timedelta(hours=1))
        assert new["due_at_us"] == due
        assert new["next_us"] == to_us(opened + timedelta(minutes=45))  # its warning
        assert mark_of(engine, "MET") is None

        assert fire_due(engine, wall_us()) == 0  # OLD's breach was before the subscription
        assert fire_due(engine, due) == 1  # NEW's response, due: its breach alone
        assert announced(engine, "OLD") == []
        assert announced(engine, "NEW") == ["breached"]

        assert unsubscribe(engine) is True
        assert mark_count(engine) == 0
        writer.opened("LATER", now, priority="P1")
        follow_all(engine, store)
        assert mark_count(engine) == 0
        assert unsubscribe(engine) is False


def test_a_second_subscription_keeps_the_marks_as_they_are(database_url: str) -> None:
    now = datetime.now(UTC)
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        office_log(engine, writer)
        writer.opened("A", now, priority="P1")
        follow_all(engine, store)
        assert subscribe(engine, "wh_1") == 2
        writer.opened("B", now, priority="P1")
        follow_all(engine, store)  # marked by the follower, now that a subscription exists
        assert mark_of(engine, "B") is not None
        assert subscribe(engine, "wh_2") == 0  # marks are kept already: no backfill
        assert unsubscribe(engine, "wh_1") is True
        assert mark_count(engine) == 4  # one subscription is left
        assert unsubscribe(engine, "wh_2") is True
        assert mark_count(engine) == 0


class PausedFollower(Follower):
    """Stops inside its step's transaction, after its rows, until told to go on."""

    def __init__(self, engine: Engine, store: object) -> None:
        super().__init__(engine, store)  # type: ignore[arg-type]
        self.applied = threading.Event()
        self.go_on = threading.Event()

    def apply(
        self, conn: Connection, projector: Projector, batch: Sequence[tuple[int, DomainEvent]]
    ) -> None:
        super().apply(conn, projector, batch)
        self.applied.set()
        assert self.go_on.wait(WAIT)


def test_a_subscription_waits_for_a_step_in_flight_and_marks_its_clocks(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        office_log(engine, writer)
        writer.opened("FLIGHT", datetime.now(UTC), priority="P1")
        follower = PausedFollower(engine, store)
        stepping = threading.Thread(target=lambda: follower.step(100))
        stepping.start()
        assert follower.applied.wait(WAIT)  # its clocks are written, no marks (no subscription)
        made: list[int] = []
        subscribing = threading.Thread(target=lambda: made.append(subscribe(engine)))
        subscribing.start()
        subscribing.join(0.5)
        assert subscribing.is_alive()  # held until the step commits
        follower.go_on.set()
        stepping.join(WAIT)
        subscribing.join(WAIT)
        follower.close()
        assert made == [2]
        assert mark_of(engine, "FLIGHT") is not None


def test_a_step_that_starts_while_a_subscription_is_made_marks_its_clocks(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        office_log(engine, writer)
        follow_all(engine, store)
        writer.opened("AFTER", datetime.now(UTC), priority="P1")
        held, release = threading.Event(), threading.Event()

        def subscribe_slowly() -> None:
            with engine.connect() as conn, write_transaction(conn):
                keeping.subscribe(conn, subscription(), wall_us())
                held.set()
                assert release.wait(WAIT)

        subscribing = threading.Thread(target=subscribe_slowly)
        subscribing.start()
        assert held.wait(WAIT)
        follower = Follower(engine, store)
        stepping = threading.Thread(target=lambda: follower.step(100))
        stepping.start()
        stepping.join(0.5)
        assert stepping.is_alive()  # its transaction waits for the subscription's
        release.set()
        subscribing.join(WAIT)
        stepping.join(WAIT)
        follower.close()
        assert mark_of(engine, "AFTER") is not None
        with engine.connect() as conn:
            assert conn.execute(select(deliveries.c.id)).first() is None
