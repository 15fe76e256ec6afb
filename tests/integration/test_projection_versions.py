"""New policy and calendar versions move the clocks of the tickets they reach (no ticket event)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.business_time import to_us
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    clock_rows,
    database,
    follow_all,
    office_with_holiday,
    plan_document,
    snapshot,
    summary_from_clocks,
)

HOUR = timedelta(hours=1)


def us(instant: datetime) -> int:
    return to_us(instant)


def _two_tickets(writer: LogWriter) -> None:
    writer.calendar("office")
    writer.policy("gold")
    writer.opened("RUN", T0, priority="P3")  # response: 8 office hours, due Mon 17:00
    writer.opened("DONE", T0, priority="P3")
    writer.event("DONE", "responded", T0 + HOUR)  # settled at Mon 10:00, 1 h elapsed


def test_a_holiday_declared_later_moves_running_clocks_only(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _two_tickets(writer)
        follow_all(engine, store)
        assert clock_rows(engine)[("RUN", "response")]["due_at_us"] == us(T0 + 8 * HOUR)
        done_before = clock_rows(engine)[("DONE", "response")]
        # Declared at 10:00 on Monday: the rest of Monday is now closed.
        writer.calendar("office", office_with_holiday("2026-03-02"), recorded_at=T0 + HOUR)
        follow_all(engine, store)
        running = clock_rows(engine)[("RUN", "response")]
        # 1 h counted on Monday before the change, 7 h on Tuesday from 09:00.
        assert running["due_at_us"] == us(T0 + timedelta(days=1, hours=7))
        assert running["warn_at_us"] == us(T0 + timedelta(days=1, hours=5))
        assert clock_rows(engine)[("DONE", "response")] == done_before
        assert snapshot(engine)["compliance"] == summary_from_clocks(engine)


def test_a_retroactive_calendar_version_reaches_settled_tickets(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _two_tickets(writer)
        follow_all(engine, store)
        assert clock_rows(engine)[("DONE", "response")]["elapsed_seconds"] == 3600
        writer.calendar(
            "office",
            office_with_holiday("2026-03-02"),
            recorded_at=T0 + 2 * HOUR,
            effective_from=T0 - timedelta(days=1),
        )
        follow_all(engine, store)
        done = clock_rows(engine)[("DONE", "response")]
        assert (done["elapsed_seconds"], done["outcome"]) == (0, "met")
        running = clock_rows(engine)[("RUN", "response")]
        assert running["due_at_us"] == us(T0 + timedelta(days=1, hours=8))


def test_a_policy_version_in_effect_at_opening_takes_over(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _two_tickets(writer)
        writer.policy("silver")
        writer.opened("OTHER", T0, plan="silver", priority="P3")
        follow_all(engine, store)
        other_before = clock_rows(engine)[("OTHER", "response")]
        faster = plan_document(response={"targets": {"P3": {"hours": 2}}})
        writer.policy("gold", faster, effective_from=T0 - timedelta(days=1))
        follow_all(engine, store)
        running = clock_rows(engine)[("RUN", "response")]
        assert running["target_seconds"] == 7200
        assert running["due_at_us"] == us(T0 + 2 * HOUR)
        assert not any(metric == "resolution" for (_, metric) in clock_rows(engine))
        assert clock_rows(engine)[("OTHER", "response")] == other_before
        tickets = snapshot(engine)["tickets"]
        versions = {row[0]: row[2] for row in tickets}  # ticket_id, plan, policy_version
        assert versions == {"RUN": 2, "DONE": 2, "OTHER": 1}
        assert snapshot(engine)["compliance"] == summary_from_clocks(engine)


def test_a_policy_version_starting_later_leaves_earlier_tickets(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        _two_tickets(writer)
        follow_all(engine, store)
        before = snapshot(engine)["clocks"]
        faster = plan_document(response={"targets": {"P3": {"hours": 2}}})
        writer.policy("gold", faster, recorded_at=T0 + HOUR)  # in effect from 10:00
        writer.opened("NEW", T0 + 2 * HOUR, priority="P3")
        follow_all(engine, store)
        rows = clock_rows(engine)
        assert rows[("NEW", "response")]["target_seconds"] == 7200
        assert [r for r in snapshot(engine)["clocks"] if r[0] != "NEW"] == before
