"""The dispatcher's side of the outbox: claim due deliveries, record what happened.

Only the active dispatcher (the webhooks lock) claims; a claimed row is
``sending`` until its result is recorded. A dispatcher that dies mid-delivery
leaves its rows ``sending``: the next one to take the lock sets them back to
``pending`` first (``release_claims``), so they are sent again, with the same
webhook-id (at least once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, bindparam, func, select, update

from projections.store import chunks
from projections.tracking import write_transaction
from projections.webhooks.tables import deliveries, subscriptions

PENDING, SENDING, DELIVERED, DEAD = "pending", "sending", "delivered", "dead"


@dataclass(frozen=True)
class Claimed:
    id: str
    subscription_id: str
    url: str
    secret: str
    payload: bytes
    attempts: int  # attempts before this one


@dataclass(frozen=True)
class Outcome:
    id: str
    attempts: int  # including this one
    status: str
    at_us: int
    next_attempt_us: int | None = None
    status_code: int | None = None
    error: str | None = None


def release_claims(engine: Engine) -> int:
    with engine.connect() as conn, write_transaction(conn):
        result = conn.execute(
            update(deliveries).where(deliveries.c.status == SENDING).values(status=PENDING)
        )
        return int(result.rowcount)


def claim(engine: Engine, now_us: int, room: Mapping[str, int], default_room: int) -> list[Claimed]:
    """Mark due deliveries ``sending`` and return them: per subscription at most its
    ``room`` (default ``default_room``), so one slow receiver cannot take every slot."""
    d, s = deliveries.c, subscriptions.c
    ranked = (
        select(
            d.id,
            d.subscription_id,
            d.payload,
            d.attempts,
            func.row_number()
            .over(partition_by=d.subscription_id, order_by=(d.next_attempt_us, d.id))
            .label("rank"),
        )
        .where(d.status == PENDING, d.next_attempt_us <= now_us)
        .subquery()
    )
    query = (
        select(ranked, s.url, s.secret)
        .join(subscriptions, s.id == ranked.c.subscription_id)
        .where(ranked.c.rank <= default_room)
    )
    with engine.connect() as conn, write_transaction(conn):
        taken = [
            Claimed(r.id, r.subscription_id, r.url, r.secret, r.payload.encode(), r.attempts)
            for r in conn.execute(query)
            if r.rank <= room.get(r.subscription_id, default_room)
        ]
        for part in chunks([c.id for c in taken]):
            conn.execute(update(deliveries).where(d.id.in_(part)).values(status=SENDING))
    return taken


def record(engine: Engine, outcomes: Sequence[Outcome]) -> None:
    if not outcomes:
        return
    d = deliveries.c
    statement = (
        update(deliveries)
        .where(and_(d.id == bindparam("k_id"), d.status == SENDING))
        .values(
            status=bindparam("v_status"),
            attempts=bindparam("v_attempts"),
            next_attempt_us=bindparam("v_next"),
            last_status_code=bindparam("v_code"),
            last_error=bindparam("v_error"),
            delivered_at_us=bindparam("v_delivered"),
        )
    )
    params = [
        {
            "k_id": o.id,
            "v_status": o.status,
            "v_attempts": o.attempts,
            "v_next": o.next_attempt_us,
            "v_code": o.status_code,
            "v_error": o.error,
            "v_delivered": o.at_us if o.status == DELIVERED else None,
        }
        for o in outcomes
    ]
    with engine.connect() as conn, write_transaction(conn):
        conn.execute(statement, params)


def listing(
    conn: Connection, subscription_id: str, limit: int, status: str | None = None
) -> list[dict[str, object]]:
    """A subscription's deliveries, newest first."""
    d = deliveries.c
    query = select(deliveries).where(d.subscription_id == subscription_id)
    if status is not None:
        query = query.where(d.status == status)
    query = query.order_by(d.created_at_us.desc(), d.id.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def redeliver(conn: Connection, subscription_id: str, delivery_id: str, now_us: int) -> bool:
    """Queue a delivery again now, whatever its state, with a fresh retry schedule."""
    d = deliveries.c
    result = conn.execute(
        update(deliveries)
        .where(d.id == delivery_id, d.subscription_id == subscription_id, d.status != SENDING)
        .values(status=PENDING, attempts=0, next_attempt_us=now_us)
    )
    return bool(result.rowcount)


def one(conn: Connection, subscription_id: str, delivery_id: str) -> dict[str, object] | None:
    d = deliveries.c
    query = select(deliveries).where(d.id == delivery_id, d.subscription_id == subscription_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)
