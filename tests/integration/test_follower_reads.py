"""What the live follower reads before it writes a batch of ticket events.

A ticket whose first event (version 1) is in the batch has no row yet, in the
read model or set aside, so the follower reads nothing for it: on PostgreSQL
that read was a scan of the tickets table per batch of new tickets. Tickets it
has seen before are still read, and the rows equal a rebuild's.
"""

from __future__ import annotations

from datetime import timedelta

from projections.rebuild import rebuild
from tests.integration.test_partial_indexes import statements
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    clock_rows,
    database,
    follow_all,
    snapshot,
)

HOUR = timedelta(hours=1)


def test_a_batch_reads_only_the_tickets_seen_before_it(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("OLD-1", T0, priority="P1")
        follow_all(engine, store)
        writer.event("OLD-1", "responded", T0 + HOUR)
        for i in range(3):
            writer.opened(f"NEW-{i}", T0 + i * 10 * timedelta(minutes=1), priority="P2")
        writer.event("NEW-0", "responded", T0 + 2 * HOUR)  # opened and answered in one batch
        engine.dispose()  # the follower's connection is checked out through the hooks
        with statements(engine) as seen:
            follow_all(engine, store)
        reads = [f"{sql} {params}" for sql, params in seen if "SELECT" in sql.upper()]
        asked = " ".join(read for read in reads if "tickets" in read or "quarantined" in read)
        assert "OLD-1" in asked
        assert "NEW-" not in asked, asked
        clocks = clock_rows(engine)
        assert clocks[("OLD-1", "response")]["outcome"] == "met"
        assert clocks[("NEW-0", "response")]["outcome"] == "met"
        assert clocks[("NEW-1", "response")]["state"] == "running"
        followed = snapshot(engine)
        rebuild(engine, store, grace_seconds=0)
        assert snapshot(engine) == followed
