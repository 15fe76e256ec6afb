"""Contract notices reach the outbox once per subscription (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from domain.webhooks.kinds import Kind
from domain.webhooks.notices import ClaimableCredit, Notice, credit_claimable
from projections.tracking import ensure_schema, write_transaction
from projections.webhooks import subscriptions as subs
from projections.webhooks.notices import announce
from projections.webhooks.tables import deliveries
from tests.integration.test_projection_support import database

NOW_US = 1_800_000_000_000_000


def subscribe(engine: Engine, sub_id: str, filters: dict[str, frozenset[str]]) -> None:
    kinds = frozenset({Kind.CREDIT_CLAIMABLE.value, Kind.BREACHED.value})
    sub = subs.Subscription(sub_id, "http://example.com/h", kinds, filters, 1, "whsec_x")
    with engine.connect() as conn, write_transaction(conn):
        subs.insert(conn, sub)


def credit(days: int, plan: str = "gold") -> Notice:
    tipped = datetime(2027, 1, 7, 14, 44, 34, tzinfo=UTC)
    found = ClaimableCredit("iam", "2027-01", 0.9986, days, 0.999, tipped, None)
    return credit_claimable("c-1", "acme", plan, found)


def announce_now(engine: Engine, *notices: Notice) -> int:
    with engine.connect() as conn, write_transaction(conn):
        return announce(conn, list(notices), NOW_US)


def rows(engine: Engine) -> list[tuple[str, str, str]]:
    query = select(deliveries.c.subscription_id, deliveries.c.kind, deliveries.c.ticket_id)
    with engine.connect() as conn:
        return sorted((r[0], r[1], r[2]) for r in conn.execute(query))


def test_a_notice_is_written_once_per_subscription_and_fact(database_url: str) -> None:
    with database(database_url) as (_store, engine):
        ensure_schema(engine)
        # A priority filter does not apply to a contract, which has none.
        subscribe(engine, "wh_a", {"plan": frozenset({"gold"}), "priority": frozenset({"p1"})})
        subscribe(engine, "wh_other_plan", {"plan": frozenset({"silver"})})
        assert announce_now(engine, credit(7)) == 1
        assert announce_now(engine, credit(7)) == 0  # seen again: already announced
        assert rows(engine) == [("wh_a", "credit_claimable", "c-1")]
        subscribe(engine, "wh_late", {})
        # A deeper tier failed is a new fact; a subscription made later hears what holds now.
        assert announce_now(engine, credit(7), credit(14)) == 3
        assert [r[0] for r in rows(engine)] == ["wh_a", "wh_a", "wh_late", "wh_late"]


def test_the_notice_rolls_back_with_its_transaction(database_url: str) -> None:
    with database(database_url) as (_store, engine):
        ensure_schema(engine)
        subscribe(engine, "wh_a", {})
        with engine.connect() as conn, conn.begin():
            announce(conn, [credit(7)], NOW_US)
            conn.rollback()
        assert rows(engine) == []
        assert announce_now(engine, credit(7)) == 1
