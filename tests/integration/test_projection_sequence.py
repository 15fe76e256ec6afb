"""The read models order a ticket's events by ``sequence`` at equal occurred_at, when
followed and when rebuilt from the raw stored JSON; ``attributes`` never reach them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from projections.facts import loads
from projections.rebuild import rebuild
from projections.schema import tables_for
from projections.tracking import live_generation
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    clock_rows,
    database,
    follow_all,
    snapshot,
)

MINUTE = timedelta(minutes=4)
RAW = {"sys_id": "9d3f", "tags": ["vip", {"score": 1.5}]}


def minute_stamped(writer: LogWriter, ticket_id: str, *, with_sequence: bool) -> None:
    """Resolved, reopened and resolved again in one minute; the reopening recorded last."""
    steps: list[tuple[str, int, dict[str, Any]]] = [
        ("opened", 1, {"plan": "gold", "kind": "incident", "priority": "P2", "attributes": RAW}),
        ("resolved", 2, {}),
        ("resolved", 4, {"attributes": {}}),
        ("reopened", 3, {}),
    ]
    for kind, sequence, data in steps:
        at = T0 if kind == "opened" else T0 + MINUTE
        made = writer.ticket_event(ticket_id, kind, at, **data)
        writer.append(replace(made, sequence=sequence) if with_sequence else made)


def _tickets(engine: Any) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        tables = tables_for(live_generation(conn))
        rows = conn.execute(select(tables.tickets)).mappings().all()
        return {r["ticket_id"]: dict(r) for r in rows}


def test_followed_and_rebuilt_read_models_order_ties_by_sequence(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        minute_stamped(writer, "SEQ", with_sequence=True)
        minute_stamped(writer, "RAW", with_sequence=False)
        follow_all(engine, store, batch=3)
        tickets = _tickets(engine)
        assert (tickets["SEQ"]["status"], tickets["RAW"]["status"]) == ("resolved", "open")
        resolution = clock_rows(engine)[("SEQ", "resolution")]
        assert (resolution["state"], resolution["elapsed_seconds"]) == ("stopped", 240)
        facts = loads(tickets["SEQ"]["facts"])
        assert [fact[6:] for fact in facts] == [[1], [2], [4], [3]]
        assert all("attributes" not in fact[5] for fact in facts)
        assert all(len(fact) == 6 for fact in loads(tickets["RAW"]["facts"]))
        live = snapshot(engine)
        rebuild(engine, store, batch_size=3, grace_seconds=0)
        assert snapshot(engine) == live
