"""The webhook tables (one set per database, outside the projection generations)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, Index, Integer, MetaData, String, Table, Text

from projections.schema import NAME

metadata = MetaData()

subscriptions = Table(
    "slahook_subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("kinds", Text, nullable=False),  # JSON list
    Column("filters", Text, nullable=False),  # JSON object: plan, customer, priority lists
    # Kept to sign with; the API shows it once, in the creation answer.
    Column("secret", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

# One row per clock with something announced or still to announce (domain Mark);
# next_us is the scheduler's queue.
marks = Table(
    "slahook_marks",
    metadata,
    Column("ticket_id", NAME, primary_key=True),
    Column("metric", NAME, primary_key=True),
    Column("plan", NAME, nullable=False),
    Column("priority", NAME),
    Column("customer", NAME),
    Column("breached", Integer, nullable=False),
    Column("at_risk", Integer, nullable=False),
    Column("warn_at_us", BigInteger),
    Column("due_at_us", BigInteger),
    Column("next_us", BigInteger),
    Index("slahook_marks_next", "next_us"),
)

# The outbox: one row per message and subscription, written in the transaction that
# caused it. status: pending, sending (claimed by the active dispatcher), delivered, dead.
deliveries = Table(
    "slahook_deliveries",
    metadata,
    Column("id", String(64), primary_key=True),  # the webhook-id, the same on every attempt
    Column("subscription_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ticket_id", NAME, nullable=False),
    Column("metric", NAME, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_us", BigInteger),
    Column("last_error", Text),
    Column("last_status_code", Integer),
    Column("delivered_at_us", BigInteger),
    Index("slahook_deliveries_due", "status", "next_attempt_us"),
    Index("slahook_deliveries_subscription", "subscription_id", "created_at_us", "id"),
)


def create_webhook_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)
