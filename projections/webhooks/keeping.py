"""Clocks have marks only while a webhook subscription exists.

With no subscription a mark would schedule announcements for no one, and writing
one per new clock was a fifth of the live follower's time on new tickets. So the
follower asks, in each step's transaction, whether a subscription exists
(``subscriptions.any_exist``), and the first subscription's transaction writes every live
clock's mark as of its creation (``subscribe``); the last one's removal drops
them all (``unsubscribe``).

The two sides are serialised by the registry's row: a live step holds it under
a share lock from its first statement (``advance_live_position``) to its commit,
and ``subscribe``/``unsubscribe`` lock it for update first. So a step either
committed before the backfill reads the clocks, or asks after the
subscription committed. On SQLite both hold the state file's write lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from domain.webhooks.transitions import ClockView, mark_as_of
from projections.schema import tables_for
from projections.store import chunks, insert_tuples
from projections.tracking import live_generation
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import MARK_COLUMNS, mark_values
from projections.webhooks.tables import marks

BACKFILL_ROWS = 10_000  # clocks read and marks written at a time


def subscribe(conn: Connection, sub: subs.Subscription, now_us: int) -> int:
    """Store ``sub``; if it is the first, mark every live clock as of ``now_us``. How many
    marks were written (in the caller's write transaction)."""
    generation = _lock_live(conn)
    written = 0
    if not subs.any_exist(conn):
        # Left by a release that kept marks without subscriptions: they are stale now.
        conn.exec_driver_sql(f"DELETE FROM {marks.name}")
        if generation is not None:
            written = _backfill(conn, generation, now_us)
    subs.insert(conn, sub)
    return written


def unsubscribe(conn: Connection, subscription_id: str) -> bool:
    """Remove a subscription; with the last one go the marks. Whether it existed."""
    _lock_live(conn)
    gone = subs.remove(conn, subscription_id)
    if gone and not subs.any_exist(conn):
        conn.exec_driver_sql(f"DELETE FROM {marks.name}")
    return gone


def _lock_live(conn: Connection) -> int | None:
    """The live generation, its row locked until commit (None before the schema exists)."""
    try:
        return live_generation(conn, for_update=True)
    except LookupError:
        return None


_BACKFILL_COLUMNS = (
    'ticket_id, metric, "plan", priority, customer, outcome, running_due_us, warn_at_us'
)


def _backfill(conn: Connection, generation: int, now_us: int) -> int:
    clocks = tables_for(generation).clocks
    query = f"SELECT {_BACKFILL_COLUMNS} FROM {clocks.name} WHERE outcome <> 'met'"
    written = 0
    for part in _partitions(conn, query):
        rows = [row for values in part if (row := _mark_row(values, now_us)) is not None]
        for rows_part in chunks(rows, BACKFILL_ROWS):
            insert_tuples(conn, marks, MARK_COLUMNS, rows_part)
        written += len(rows)
    return written


def _partitions(conn: Connection, query: str) -> Iterator[Sequence[Any]]:
    # A server-side cursor on PostgreSQL: a million clocks need not sit in memory at once.
    result = conn.exec_driver_sql(query, execution_options={"yield_per": BACKFILL_ROWS})
    yield from result.partitions()


def _mark_row(values: Sequence[Any], now_us: int) -> tuple[Any, ...] | None:
    outcome, due, warn = values[5:8]
    mark = mark_as_of(ClockView(outcome, due, warn), now_us)
    return None if mark is None else mark_values(values[:5], mark)
