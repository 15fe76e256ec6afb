"""Fires the marks whose instant has passed: at_risk at warn_at, breached at due_at.

No event arrives when a running clock reaches its due instant, so the scheduler
writes those announcements itself, with the mark's update, in one transaction.
The projections reschedule a mark (its instants move) in their own transaction
when a pause, a priority change or a late event moves the clock; on PostgreSQL
both sides lock the mark row, on SQLite both hold the write lock, so each sees
the other's result and nothing is announced twice.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select

from domain.webhooks.transitions import fire
from projections.store import insert_rows, upsert
from projections.tracking import write_transaction
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import Row, delivery_rows, mark_of, mark_row
from projections.webhooks.tables import deliveries, marks

FIRE_BATCH = 1000  # marks per transaction: the first deliveries need not wait for the last


def next_instant(conn: Connection) -> int | None:
    """The earliest instant a mark waits for."""
    value = conn.execute(select(func.min(marks.c.next_us))).scalar()
    conn.rollback()  # a read: end it, so SQLite's next snapshot is fresh
    return None if value is None else int(value)


def fire_due(engine: Engine, now_us: int, limit: int = FIRE_BATCH) -> int:
    """Fire up to ``limit`` marks due at ``now_us``; how many were due."""
    with engine.connect() as conn, write_transaction(conn):
        query = (
            select(marks).where(marks.c.next_us <= now_us).order_by(marks.c.next_us).limit(limit)
        )
        if conn.dialect.name == "postgresql":
            # Rows the projections hold are theirs to reschedule; the next round sees them.
            query = query.with_for_update(skip_locked=True)
        due = [dict(row) for row in conn.execute(query).mappings()]
        if not due:
            return 0
        active = subs.load_all(conn)
        updated: list[Row] = []
        outbox: list[Row] = []
        for row in due:
            kind, mark = fire(mark_of(row), now_us)
            if kind is not None:
                clock = {**row, "outcome": "breached" if mark.breached else "pending"}
                outbox.extend(delivery_rows(active, kind, clock, now_us))
            updated.append(mark_row(row, mark))
        upsert(conn, marks, updated, ["ticket_id", "metric"])
        insert_rows(conn, deliveries, outbox)
        return len(due)
