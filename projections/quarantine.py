"""Tickets the projection cannot evaluate, set aside so that one never stops the others.

When evaluating a ticket raises, its rows leave the read model and a row here
keeps its facts, its last position and the error (for operators). A later
event on the ticket, or any new policy or calendar version, evaluates it
again; once that succeeds the ticket is back and its row here is gone. A
rebuild sets aside exactly the tickets following the log does: both evaluate
the same facts with the same versions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select

from projections.facts import Fact, dumps
from projections.rows import Row
from projections.schema import Tables
from projections.store import chunks

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ("ticket_id", "last_position", "facts", "error")
MAX_ERROR_CHARS = 500
SHOWN_IDS = 5


def quarantine_values(
    ticket_id: str, facts: list[Fact], position: int, error: Exception
) -> tuple[Any, ...]:
    """The quarantine row, in ``QUARANTINE_COLUMNS`` order; the error is logged once here."""
    text = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
    log.warning("ticket %r cannot be evaluated and is set aside: %s", ticket_id, text)
    return (ticket_id, position, dumps(facts), text)


def load_quarantined(conn: Connection, tables: Tables, ids: Sequence[str]) -> dict[str, Row]:
    q = tables.quarantined
    found: dict[str, Row] = {}
    for part in chunks(ids):
        for row in conn.execute(select(q).where(q.c.ticket_id.in_(part))).mappings():
            found[row["ticket_id"]] = dict(row)
    return found


def any_quarantined(conn: Connection, tables: Tables) -> bool:
    q = tables.quarantined
    return conn.execute(select(q.c.ticket_id).limit(1)).first() is not None


def quarantined_ids(conn: Connection, tables: Tables) -> list[str]:
    q = tables.quarantined
    return list(conn.execute(select(q.c.ticket_id).order_by(q.c.ticket_id)).scalars())


def release(conn: Connection, tables: Tables, ids: Sequence[str]) -> None:
    """Forget the quarantine rows of tickets that evaluate again."""
    q = tables.quarantined
    for part in chunks(ids):
        conn.execute(delete(q).where(q.c.ticket_id.in_(part)))


def quarantine_summary(conn: Connection, tables: Tables) -> tuple[int, list[str]]:
    """How many tickets are set aside, and the first few ids (for /readyz and /metrics)."""
    q = tables.quarantined
    count = conn.execute(select(func.count()).select_from(q)).scalar_one()
    shown = select(q.c.ticket_id).order_by(q.c.ticket_id).limit(SHOWN_IDS)
    return int(count), list(conn.execute(shown).scalars())
