"""Writes contract notices (``allowance_low``, ``credit_claimable``) to the outbox, once.

Each notice and matching subscription gets one delivery whose id is derived
from both: a sweep that finds the same notice again finds its delivery there
and writes nothing, so a notice is announced once per subscription however
often it is seen, and a subscription made later still hears of what holds now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import Connection, select

from domain.webhooks.notices import Notice
from projections.store import chunks, insert_rows
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import Row, envelope, pending_delivery
from projections.webhooks.tables import deliveries


def delivery_id(subscription_id: str, notice_key: str) -> str:
    digest = hashlib.sha256(f"{subscription_id}\n{notice_key}".encode()).hexdigest()
    return "msg_" + digest[:32]


def message(notice: Notice, now_us: int) -> str:
    return envelope(notice.kind, notice.body_data(), now_us).decode()


def _rows(active: Sequence[subs.Subscription], notice: Notice, now_us: int) -> list[Row]:
    targets = subs.matching(active, notice.kind.value, notice.subject)
    body = message(notice, now_us) if targets else ""
    # Deliveries name a clock; a contract notice names its contract, and no metric.
    subject = (notice.contract_id, "")
    return [
        pending_delivery(
            delivery_id(target, notice.key), target, notice.kind, subject, body, now_us=now_us
        )
        for target in targets
    ]


def _existing(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(ids)):
        found.update(
            conn.execute(select(deliveries.c.id).where(deliveries.c.id.in_(part))).scalars()
        )
    return found


def announce(conn: Connection, notices: Sequence[Notice], now_us: int) -> int:
    """Write the deliveries of notices not announced yet (in the caller's transaction)."""
    active = subs.load_all(conn)
    rows = [row for notice in notices for row in _rows(active, notice, now_us)]
    known = _existing(conn, [row["id"] for row in rows])
    fresh = [row for row in rows if row["id"] not in known]
    insert_rows(conn, deliveries, fresh)
    return len(fresh)
