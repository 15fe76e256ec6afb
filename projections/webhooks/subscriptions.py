"""Webhook subscriptions: stored, listed, matched against events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select

from projections.webhooks.tables import deliveries, subscriptions

FILTER_FIELDS = ("plan", "customer", "priority")


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    kinds: frozenset[str]
    # field -> accepted values; a field absent accepts any value
    filters: Mapping[str, frozenset[str]] = field(default_factory=dict)
    created_at_us: int = 0
    secret: str = field(default="", repr=False)

    def accepts(self, kind: str, subject: Mapping[str, object]) -> bool:
        """Whether an event of ``kind`` about ``subject`` (a clock, a contract) is sent here.

        A filter on a field the subject does not have (a contract has no priority)
        does not apply to it; a field it has but left empty (a clock with no
        customer) matches no filter on that field.
        """
        if kind not in self.kinds:
            return False
        return all(
            name not in subject or subject[name] in values for name, values in self.filters.items()
        )

    def filters_out(self) -> dict[str, list[str]]:
        return {name: sorted(values) for name, values in self.filters.items()}


def new_id() -> str:
    return "wh_" + uuid.uuid4().hex


def _of(row: Mapping[str, Any]) -> Subscription:
    filters = json.loads(str(row["filters"]))
    return Subscription(
        id=str(row["id"]),
        url=str(row["url"]),
        kinds=frozenset(json.loads(str(row["kinds"]))),
        filters={name: frozenset(values) for name, values in filters.items()},
        created_at_us=int(str(row["created_at_us"])),
        secret=str(row["secret"]),
    )


def insert(conn: Connection, sub: Subscription) -> None:
    conn.execute(
        subscriptions.insert().values(
            id=sub.id,
            url=sub.url,
            kinds=json.dumps(sorted(sub.kinds)),
            filters=json.dumps(sub.filters_out()),
            secret=sub.secret,
            created_at_us=sub.created_at_us,
        )
    )


def any_exist(conn: Connection) -> bool:
    """Whether a subscription exists: while none does, clocks have no marks (``keeping``)."""
    found = conn.exec_driver_sql(f"SELECT 1 FROM {subscriptions.name} LIMIT 1").first()
    return found is not None


def load_all(conn: Connection) -> list[Subscription]:
    query = select(subscriptions).order_by(subscriptions.c.created_at_us, subscriptions.c.id)
    return [_of(dict(row)) for row in conn.execute(query).mappings()]


def load_one(conn: Connection, subscription_id: str) -> Subscription | None:
    row = (
        conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id))
        .mappings()
        .first()
    )
    return None if row is None else _of(dict(row))


def remove(conn: Connection, subscription_id: str) -> bool:
    """Delete a subscription and its deliveries (pending ones are never sent)."""
    gone = conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))
    conn.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
    return bool(gone.rowcount)


def matching(subs: Sequence[Subscription], kind: str, subject: Mapping[str, object]) -> list[str]:
    return [sub.id for sub in subs if sub.accepts(kind, subject)]
