"""Webhooks: subscriptions, the per-clock marks the scheduler follows, and the outbox.

The definitions are frozen here (a copy of projections/webhooks/tables.py as this
revision made them). The tables belong to no projection generation: one set per
database. Like the baseline, it creates only what is missing, so a database whose
tables an earlier start already made is only recorded.

Revision ID: 0002_webhooks
Revises: 0001_baseline
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_webhooks"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(128)


def _webhook_tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "slahook_subscriptions",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kinds", sa.Text, nullable=False),  # JSON list
        # JSON object: plan, customer, priority lists
        sa.Column("filters", sa.Text, nullable=False),
        # Kept to sign with; the API shows it once, in the creation answer.
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
    )

    # One row per clock with something announced or still to announce (domain Mark);
    # next_us is the scheduler's queue.
    sa.Table(
        "slahook_marks",
        metadata,
        sa.Column("ticket_id", NAME, primary_key=True),
        sa.Column("metric", NAME, primary_key=True),
        sa.Column("plan", NAME, nullable=False),
        sa.Column("priority", NAME),
        sa.Column("customer", NAME),
        sa.Column("breached", sa.Integer, nullable=False),
        sa.Column("at_risk", sa.Integer, nullable=False),
        sa.Column("warn_at_us", sa.BigInteger),
        sa.Column("due_at_us", sa.BigInteger),
        sa.Column("next_us", sa.BigInteger),
        sa.Index("slahook_marks_next", "next_us"),
    )

    # The outbox: one row per message and subscription, written in the transaction that
    # caused it. status: pending, sending (claimed by the active dispatcher), delivered, dead.
    sa.Table(
        "slahook_deliveries",
        metadata,
        sa.Column(
            "id", sa.String(64), primary_key=True
        ),  # the webhook-id, the same on every attempt
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_id", NAME, nullable=False),
        sa.Column("metric", NAME, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at_us", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("delivered_at_us", sa.BigInteger),
        sa.Index("slahook_deliveries_due", "status", "next_attempt_us"),
        sa.Index("slahook_deliveries_subscription", "subscription_id", "created_at_us", "id"),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    _webhook_tables(metadata)
    metadata.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("slaclock's migrations go forward only")
