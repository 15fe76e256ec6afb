"""Announcements written in the transaction of the change that causes them.

``ClockWatcher.clocks_changed`` is called by the projector with every clock row
it changes (before, after; as values) in the batch's transaction: it updates the clocks'
marks (the schedule of their coming instants) and writes one delivery row per
announced event and matching subscription. A rollback drops them with the rows;
a commit makes them durable together: nothing announced that did not happen,
nothing that happened left unannounced.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Table

from domain.webhooks.kinds import Kind
from domain.webhooks.transitions import BREACHED, MET, ClockView, Mark, transition
from projections.rows import CLOCK_COLUMNS
from projections.store import chunks, delete_keys, insert_rows, rows_by_ticket, upsert_values
from projections.webhooks import subscriptions as subs
from projections.webhooks.tables import deliveries, marks

Row = dict[str, Any]
Values = tuple[Any, ...]  # a clock row as values in CLOCK_COLUMNS order
Key = tuple[str, str]
_MARK_KEY = ("ticket_id", "metric")
# A mark's first columns, taken from its clock.
_SUBJECT_COLUMNS = ("ticket_id", "metric", "plan", "priority", "customer")


def wall_us() -> int:
    return time.time_ns() // 1000


def iso_us(value_us: int | None) -> str | None:
    if value_us is None:
        return None
    return datetime.fromtimestamp(value_us // 1_000_000, UTC).isoformat().replace("+00:00", "Z")


def message(kind: Kind, clock: Mapping[str, Any], now_us: int) -> bytes:
    """The JSON body of one announcement (Standard Webhooks shape: type, timestamp, data)."""
    data = {
        "ticket_id": clock["ticket_id"],
        "metric": clock["metric"],
        "plan": clock["plan"],
        "priority": clock.get("priority"),
        "customer": clock.get("customer"),
        "outcome": clock.get("outcome"),
        "warn_at": iso_us(clock.get("warn_at_us")),
        "due_at": iso_us(clock.get("due_at_us")),
        "breached_at": iso_us(clock.get("breached_at_us")),
        "stopped_at": iso_us(clock.get("stopped_at_us")),
    }
    return envelope(kind, data, now_us)


def envelope(kind: Kind, data: Mapping[str, object], now_us: int) -> bytes:
    """The Standard Webhooks body: type, timestamp, data."""
    return orjson.dumps({"type": kind.value, "timestamp": iso_us(now_us), "data": data})


def pending_delivery(
    delivery_id: str,
    subscription_id: str,
    kind: Kind,
    subject: tuple[str, str],
    payload: str,
    *,
    now_us: int,
) -> Row:
    """An outbox row due now; ``subject`` is the clock's (ticket, metric)."""
    return {
        "id": delivery_id,
        "subscription_id": subscription_id,
        "kind": kind.value,
        "ticket_id": subject[0],
        "metric": subject[1],
        "payload": payload,
        "created_at_us": now_us,
        "status": "pending",
        "attempts": 0,
        "next_attempt_us": now_us,
        "last_error": None,
        "last_status_code": None,
        "delivered_at_us": None,
    }


def delivery_rows(
    active: Sequence[subs.Subscription], kind: Kind, clock: Mapping[str, Any], now_us: int
) -> list[Row]:
    targets = subs.matching(active, kind.value, clock)
    if not targets:
        return []
    body = message(kind, clock, now_us).decode()
    subject = (clock["ticket_id"], clock["metric"])
    return [
        pending_delivery("msg_" + uuid.uuid4().hex, target, kind, subject, body, now_us=now_us)
        for target in targets
    ]


def mark_of(row: Mapping[str, Any]) -> Mark:
    return Mark(bool(row["breached"]), bool(row["at_risk"]), row["warn_at_us"], row["due_at_us"])


MARK_COLUMNS = tuple(column.name for column in marks.columns)


def mark_values(subject: Sequence[Any], mark: Mark) -> tuple[Any, ...]:
    """A mark row as values in ``MARK_COLUMNS`` order; ``subject``: the clock's ticket_id,
    metric, plan, priority and customer."""
    return (
        *subject,
        int(mark.breached),
        int(mark.at_risk),
        mark.warn_us,
        mark.due_us,
        mark.next_us,
    )


def mark_row(clock: Mapping[str, Any], mark: Mark) -> Row:
    subject = [clock.get(name) for name in _SUBJECT_COLUMNS]
    return dict(zip(MARK_COLUMNS, mark_values(subject, mark), strict=True))


def load_marks(conn: Connection, keys: Sequence[Key]) -> dict[Key, Row]:
    """The marks of these clocks, locked until commit on PostgreSQL (the scheduler
    updates them from another transaction)."""
    wanted = set(keys)
    found: dict[Key, Row] = {}
    # By ticket, the key's leading column: PostgreSQL planned the (ticket, metric) pair
    # list as a scan of the whole table, a second per batch once it held 100,000 marks.
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    for part in chunks(sorted({ticket for ticket, _ in wanted})):
        for row in rows_by_ticket(conn, marks, part, lock):
            key = (row["ticket_id"], row["metric"])
            if key in wanted:
                found[key] = row
    return found


def drop_orphan_marks(conn: Connection, clocks: Table) -> int:
    """Delete the marks of clocks that ``clocks`` has no row for; how many.

    Run as a rebuilt generation goes live: the live projection then reads a clock's
    mark only when the clock had a row (``ClockWatcher.clocks_changed``), so a mark
    left by the old generation must not outlive its clock.
    """
    has_clock = (
        f"SELECT 1 FROM {clocks.name} AS c "
        f"WHERE c.ticket_id = {marks.name}.ticket_id AND c.metric = {marks.name}.metric"
    )
    result = conn.exec_driver_sql(f"DELETE FROM {marks.name} WHERE NOT EXISTS ({has_clock})")
    return int(result.rowcount or 0)


_TICKET, _METRIC, _OUTCOME, _WARN, _DUE = (
    CLOCK_COLUMNS.index(name)
    for name in ("ticket_id", "metric", "outcome", "warn_at_us", "running_due_us")
)
_SUBJECT = itemgetter(*(CLOCK_COLUMNS.index(n) for n in _SUBJECT_COLUMNS))


def _view(values: Values | None) -> ClockView | None:
    if values is None:
        return None
    return ClockView(values[_OUTCOME], values[_DUE], values[_WARN])


class ClockWatcher:
    """Turns clock row changes into marks and outbox rows (see the module docstring)."""

    def __init__(self, now: Callable[[], int] = wall_us) -> None:
        self._now = now

    def clocks_changed(
        self, conn: Connection, pairs: Iterable[tuple[Values | None, Values | None]]
    ) -> None:
        """``pairs``: each changed clock before and after, as values in ``CLOCK_COLUMNS``
        order (None: no row). Every clock of a new ticket passes here: rows (dicts) are
        made only for what is announced, which is rare."""
        given = iter(pairs)
        first = next(given, None)
        if first is None or not subs.any_exist(conn):
            return  # with no subscription there is no one to announce to (keeping.py)
        every = chain([first], given)
        changes = [(old, new) for old, new in every if old is not None or new is not None]
        if not changes:
            return
        now = self._now()
        keys = [_key(old, new) for old, new in changes]
        # A clock that had no row has no mark (marks go with their clocks, and a switch
        # to a rebuilt generation drops the others): a new ticket's clocks need no read.
        had_rows = [key for key, (old, _) in zip(keys, changes, strict=True) if old is not None]
        known = load_marks(conn, had_rows)
        # Read only once something is announced: most steps announce nothing (a new
        # ticket's clocks), and reading every subscription was a sixth of a one-event step.
        active: list[subs.Subscription] | None = None
        kept: list[tuple[Any, ...]] = []
        dropped: list[Row] = []
        outbox: list[Row] = []
        for key, (old, new) in zip(keys, changes, strict=True):
            stored = known.get(key)
            if old is None and stored is None and new is not None and _pending(new):
                scheduled = new_pending_mark(new)  # most of a new ticket's clocks
                if scheduled is not None:
                    kept.append(scheduled)
                continue
            previous = None if stored is None else mark_of(stored)
            kinds, mark = transition(_view(old), _view(new), previous, now)
            clock = new if new is not None else old
            assert clock is not None
            if kinds:
                active = subs.load_all(conn) if active is None else active
                row = dict(zip(CLOCK_COLUMNS, clock, strict=True))
                for kind in kinds:
                    outbox.extend(delivery_rows(active, kind, row, now))
            if mark is None:
                if stored is not None:
                    dropped.append(stored)
            elif previous != mark:
                kept.append(mark_values(_SUBJECT(clock), mark))
        delete_keys(conn, marks, _MARK_KEY, dropped)
        upsert_values(conn, marks, MARK_COLUMNS, kept, _MARK_KEY)
        insert_rows(conn, deliveries, outbox)


def _pending(values: Values) -> bool:
    return values[_OUTCOME] not in (MET, BREACHED)


def new_pending_mark(values: Values) -> tuple[Any, ...] | None:
    """The mark row of a new clock neither met nor breached: what ``transition`` makes of
    it (nothing announced; its warn and due instants scheduled, if it runs), without
    the views and marks it builds, a third of the live follower's time on new tickets'
    marks. ``tests/unit/test_new_pending_mark.py`` holds the two to the same answers."""
    due = values[_DUE]
    if due is None:
        return None  # paused or stopped: nothing to schedule
    warn = values[_WARN]
    next_us = due if warn is None else min(due, warn)
    return (*_SUBJECT(values), 0, 0, warn, due, next_us)


def _key(old: Values | None, new: Values | None) -> Key:
    values = new if new is not None else old
    assert values is not None
    return (values[_TICKET], values[_METRIC])
