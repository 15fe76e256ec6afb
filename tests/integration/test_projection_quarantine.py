"""One ticket that cannot be evaluated is set aside; the projection goes on (issue 12, defect 1).

Such tickets come from a log an earlier release accepted (instants out of
today's range), or a log whose policy names a calendar it never defines: the
write side now refuses both, so the log is written straight to the store here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from projections.rebuild import rebuild
from projections.schema import tables_for
from projections.service import ProjectionService
from projections.tracking import live_generation
from tests.integration.test_projection_rebuild import DecodedOnly, RawOnly
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    database,
    follow_all,
    plan_document,
    snapshot,
    summary_from_clocks,
)

YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(9999, 12, 31, tzinfo=UTC)


def quarantined(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        table = tables_for(live_generation(conn)).quarantined
        return {row["ticket_id"]: dict(row) for row in conn.execute(select(table)).mappings()}


def ticket_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        tables = tables_for(live_generation(conn))
        return set(conn.execute(select(tables.tickets.c.ticket_id)).scalars())


def test_a_ticket_that_cannot_be_evaluated_does_not_stop_the_others(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("A-1", T0, priority="P2")
        writer.event("OLD-1", "opened", YEAR_ONE, T0, plan="gold", kind="incident")
        writer.opened("A-2", T0 + timedelta(hours=1))
        head = writer.event("A-3", "opened", T0, plan="gold", kind="incident")

        assert follow_all(engine, store, batch=2) == head
        assert ticket_ids(engine) == {"A-1", "A-2", "A-3"}
        assert list(quarantined(engine)) == ["OLD-1"]
        assert "outside the instants slaclock evaluates" in quarantined(engine)["OLD-1"]["error"]

        status = ProjectionService(engine, store).status()
        assert (status["quarantined_tickets"], status["quarantined_examples"]) == (1, ["OLD-1"])
        assert status["last_error"] is None  # set aside, not failed: readiness stands
        assert 'slaclock_projection_quarantined_tickets{projection="tickets"} 1' in (
            ProjectionService(engine, store).metrics_lines()
        )


def test_a_ticket_that_starts_failing_leaves_the_read_model_and_later_events_retry_it(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("A-1", T0, priority="P2")
        writer.opened("A-2", T0)
        follow_all(engine, store)
        assert ticket_ids(engine) == {"A-1", "A-2"}

        writer.event("A-1", "responded", LAST_DAY, T0 + timedelta(hours=1))
        follow_all(engine, store)
        assert ticket_ids(engine) == {"A-2"}
        assert snapshot(engine)["compliance"] == summary_from_clocks(engine)  # A-1 uncounted

        position = writer.event("A-1", "resolved", T0 + timedelta(hours=2))
        follow_all(engine, store)
        retried = quarantined(engine)["A-1"]
        assert retried["last_position"] == position
        assert '"resolved"' in retried["facts"]


def test_a_new_version_releases_a_ticket_it_was_missing(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold", plan_document(calendar="late"))  # "late" is not defined yet
        writer.opened("L-1", T0)
        follow_all(engine, store)
        assert "calendar 'late' has no version" in quarantined(engine)["L-1"]["error"]

        writer.calendar("late")
        follow_all(engine, store)
        assert quarantined(engine) == {}
        assert ticket_ids(engine) == {"L-1"}


def test_a_rebuild_sets_aside_the_same_tickets(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("A-1", T0, priority="P2")
        writer.event("OLD-1", "opened", YEAR_ONE, T0, plan="gold", kind="incident")
        writer.event("A-1", "responded", LAST_DAY, T0 + timedelta(hours=1))
        writer.opened("A-2", T0)
        follow_all(engine, store, batch=3)
        live = snapshot(engine)
        assert [row[0] for row in live["quarantined"]] == ["A-1", "OLD-1"]
        for log, workers in ((DecodedOnly(store), 0), (RawOnly(store), 0), (store, 0), (store, 2)):
            rebuild(engine, log, grace_seconds=0, workers=workers)
            assert snapshot(engine) == live, (type(log).__name__, workers)
