"""Projections of tickets bound to a contract: suspensions, late ones, calendars, rebuilds.

Calendar ``office``: UTC, Mon-Fri 09:00-17:00; plan ``gold``: response P2 4 h.
Contract events and bound tickets go straight into the event store, as the
contract write path stores them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from eventsourcing.domain import DomainEvent
from sqlalchemy import Engine

from domain.business_time import to_us
from projections.reads.compliance import ComplianceQuery, report
from projections.rebuild import rebuild
from projections.schema import tables_for
from projections.tracking import ensure_schema, live_generation
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import (
    OFFICE,
    T0,
    LogWriter,
    clock_rows,
    database,
    follow_all,
    snapshot,
    summary_from_clocks,
)

HOUR = timedelta(hours=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
P2 = {"priority": "P2"}


def us(delta: timedelta) -> int:
    return to_us(T0 + delta)


def _setup(writer: LogWriter) -> None:
    writer.calendar("office")
    writer.policy("gold")
    writer.contract("K", "contract_started", T0 - timedelta(days=1), customer="acme", plan="gold")
    writer.opened("B-1", T0, contract="K", customer="acme", **P2)
    writer.opened("B-2", T0, contract="K", customer="acme", **P2)
    writer.event("B-2", "resolved", T0 + timedelta(minutes=30))
    writer.opened("F-1", T0, **P2)


def _compliance(engine: Engine, **filters: Any) -> list[dict[str, Any]]:
    query = ComplianceQuery(metric="response", **filters)
    with engine.connect() as conn:
        tables = tables_for(live_generation(conn))
        return report(conn, tables, query, us(2 * HOUR))


def test_a_suspension_holds_the_bound_tickets_rows_and_reinstatement_moves_them(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _setup(writer)
        follow_all(engine, store)
        before = clock_rows(engine)
        assert before[("B-1", "response")]["running_due_us"] == us(4 * HOUR)

        writer.contract("K", "sla_suspended", T0 + HOUR, reason="unpaid")
        follow_all(engine, store)
        held = clock_rows(engine)[("B-1", "response")]
        assert (held["state"], held["running_due_us"], held["breach_from_us"]) == (
            "paused",
            None,
            None,
        )
        assert (held["evaluated_at_us"], held["elapsed_seconds"]) == (us(HOUR), 3600)
        assert (held["suspended"], held["suspended_seconds"]) == (1, 0)
        # Settled before the suspension, and unbound: untouched.
        assert clock_rows(engine)[("B-2", "response")] == before[("B-2", "response")]
        assert clock_rows(engine)[("F-1", "response")] == before[("F-1", "response")]
        [group] = _compliance(engine)
        assert (group["met"], group["breached"], group["pending"]) == (1, 0, 2)
        assert group["suspended"] == 1
        # Counted clock by clock: a customer's report, and a range of part of a day.
        [theirs] = _compliance(engine, customer="acme")
        assert (theirs["met"], theirs["pending"], theirs["suspended"]) == (1, 1, 1)
        [part] = _compliance(engine, from_us=us(-HOUR), to_us=us(HOUR))
        assert (part["met"], part["pending"], part["suspended"]) == (1, 2, 1)

        writer.contract("K", "sla_reinstated", T0 + 3 * HOUR)
        follow_all(engine, store)
        again = clock_rows(engine)[("B-1", "response")]
        assert (again["state"], again["running_due_us"]) == ("running", us(6 * HOUR))
        assert (again["suspended"], again["suspended_seconds"]) == (1, 7200)
        assert snapshot(engine)["compliance"] == summary_from_clocks(engine)


def test_a_late_suspension_reaches_back_to_the_tickets_it_overlaps(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _setup(writer)
        writer.opened("B-3", T0 - timedelta(days=3), contract="K", **P2)  # Friday
        writer.event("B-3", "closed", T0 - timedelta(days=3) + HOUR)
        follow_all(engine, store)
        closed_before = clock_rows(engine)[("B-3", "response")]
        late = T0 + 5 * HOUR
        writer.contract("K", "sla_suspended", T0 + timedelta(minutes=10), late, reason="x")
        writer.contract("K", "sla_reinstated", T0 + timedelta(minutes=20), late)
        follow_all(engine, store)
        resolved = clock_rows(engine)[("B-2", "response")]
        assert (resolved["outcome"], resolved["elapsed_seconds"]) == ("met", 1200)
        assert (resolved["suspended"], resolved["suspended_seconds"]) == (1, 600)
        assert clock_rows(engine)[("B-3", "response")] == closed_before
        assert clock_rows(engine)[("B-1", "response")]["running_due_us"] == us(
            4 * HOUR + timedelta(minutes=10)
        )
        assert snapshot(engine)["compliance"] == summary_from_clocks(engine)


def test_the_contracts_calendar_and_its_new_versions_reach_its_tickets(database_url: str) -> None:
    evening = OFFICE | {
        "week": {d: [["12:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    }
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.calendar("evening", evening)
        writer.policy("gold")
        writer.contract("K", "contract_started", T0 - HOUR, customer="acme", plan="gold")
        writer.contract("K", "contract_amended", T0 - timedelta(minutes=30), calendar="evening")
        writer.opened("B-1", T0, contract="K", **P2)
        follow_all(engine, store)
        row = clock_rows(engine)[("B-1", "response")]
        assert (row["calendar"], row["running_due_us"]) == ("evening", us(7 * HOUR))
        # Evening hours move an hour later: the bound ticket's due instant follows.
        later = OFFICE | {
            "week": {d: [["13:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        }
        writer.calendar("evening", later, recorded_at=T0)
        follow_all(engine, store)
        assert clock_rows(engine)[("B-1", "response")]["running_due_us"] == us(8 * HOUR)


def _random_log(writer: LogWriter, seed: int) -> None:
    rng = random.Random(seed)
    writer.calendar("office")
    writer.calendar("evening", OFFICE | {"timezone": "America/New_York"})
    writer.policy("gold")
    for contract in ("K1", "K2"):
        writer.contract(
            contract, "contract_started", T0 - timedelta(days=2), customer=contract, plan="gold"
        )
    kinds = ("responded", "awaiting_customer", "customer_replied", "resolved", "reopened", "closed")
    suspended = {"K1": False, "K2": False}
    for step in range(120):
        roll = rng.random()
        at = T0 + timedelta(minutes=rng.randint(-600, 4000))
        if roll < 0.15:
            contract = rng.choice(("K1", "K2"))
            kind = "sla_reinstated" if suspended[contract] else "sla_suspended"
            suspended[contract] = not suspended[contract]
            writer.contract(contract, kind, at, T0 + timedelta(days=9, seconds=step), reason="r")
        elif roll < 0.18:
            writer.contract(
                "K2", "contract_amended", at, calendar=rng.choice(("evening", "office"))
            )
        elif roll < 0.45:
            bound = rng.choice(("K1", "K2", None))
            extra: dict[str, Any] = {"contract": bound} if bound else {}
            priority = rng.choice(("P1", "P2", "P3"))
            writer.opened(f"R-{step}", at, priority=priority, **extra)
        else:
            opened = [k[1] for k in writer.versions if k[0] == "ticket"]
            if opened:
                ticket = rng.choice(sorted(opened))
                writer.event(ticket, rng.choice(kinds), at + timedelta(days=1))


class PlainLog:
    """The log without raw records: a rebuild stages decoded events (its other path)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def read_after(self, position: int, limit: int) -> Sequence[tuple[int, DomainEvent]]:
        return self.store.read_after(position, limit)

    def max_position(self) -> int:
        return self.store.max_position()


# (seed, follower batch, rebuild path): the event table in this process, in two worker
# processes (contracts travel to them with the catalog), and staged decoded events.
@pytest.mark.parametrize(
    ("seed", "batch", "path"), [(3, 1, "table"), (11, 17, "workers"), (5, 500, "staged")]
)
def test_rebuild_equals_following_with_contracts(
    database_url: str, seed: int, batch: int, path: str
) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _random_log(writer, seed)
        follow_all(engine, store, batch=batch)
        live = snapshot(engine)
        assert any(row[-1] for row in live["clocks"]), "some clock was suspended"
        assert live["compliance"] == summary_from_clocks(engine)
        log = PlainLog(store) if path == "staged" else store
        rebuild(engine, log, batch_size=50, grace_seconds=0, workers=2 if path == "workers" else 0)
        assert snapshot(engine) == live


def test_a_suspension_of_a_big_contract_rewrites_every_clock(database_url: str) -> None:
    """Over COPY_FROM_ROWS clock rows: PostgreSQL upserts them through COPY."""
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.contract("K", "contract_started", T0 - timedelta(days=1), customer="c", plan="gold")
        opened = [
            writer.ticket_event(f"B-{i:04}", "opened", T0, None, plan="gold", contract="K", **P2)
            for i in range(600)
        ]
        writer.append(*opened)
        follow_all(engine, store)
        writer.contract("K", "sla_suspended", T0 + HOUR, reason="unpaid")
        follow_all(engine, store)
        rows = clock_rows(engine)
        assert len(rows) == 1200
        assert {(r["state"], r["suspended"], r["evaluated_at_us"]) for r in rows.values()} == {
            ("paused", 1, us(HOUR))
        }
        assert snapshot(engine)["compliance"] == summary_from_clocks(engine)


def test_tables_of_an_older_version_are_reported_with_the_cure(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with database(database_url) as (store, engine):
        follow_all(engine, store)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE slaproj_g1_clocks DROP COLUMN suspended")
        with caplog.at_level("ERROR", logger="projections.tracking"):
            ensure_schema(engine)
        assert "slaproj_g1_clocks.suspended" in caplog.text
        assert "slaclock rebuild" in caplog.text
        rebuild(engine, store, grace_seconds=0)
        caplog.clear()
        ensure_schema(engine)
        assert caplog.text == ""
