"""Baseline: the tables slaclock 0.1.0 created on first start, before migrations existed.

The definitions are frozen here (a copy, not an import of today's models), so this
revision keeps meaning what that release made whatever the models become.

It creates only the tables a database lacks: on a database made by that release
(no ``alembic_version``) it changes nothing and Alembic records the baseline, and
one a crash left half made is completed. The read-model tables are per generation
(``slaproj_g<N>_*``, see projections/schema.py): the live generation named by the
registry (the first one on a new database) is the one created.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = sa.String(128)
PROJECTION = "tickets"


def _us(name: str, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def _tokens(metadata: sa.MetaData) -> None:
    sa.Table(
        "api_tokens",
        metadata,
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def _registry(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "slaproj_registry",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
    )


def _catalog(name: str, key: str, metadata: sa.MetaData) -> None:
    sa.Table(
        name,
        metadata,
        sa.Column(key, NAME, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        _us("effective_from_us"),
        _us("recorded_at_us", nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )


def _tickets(p: str, metadata: sa.MetaData) -> None:
    sa.Table(
        f"{p}tickets",
        metadata,
        sa.Column("ticket_id", NAME, primary_key=True),
        sa.Column("plan", NAME, nullable=False),
        sa.Column("policy_version", sa.Integer),
        sa.Column("priority", NAME),
        sa.Column("customer", NAME),
        sa.Column("kind", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False),
        _us("opened_at_us", nullable=False),
        _us("last_event_at_us", nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        _us("settled_at_us"),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("contract", NAME),
        sa.Index(f"{p}tickets_plan", "plan", "ticket_id"),
        sa.Index(f"{p}tickets_contract", "contract", "ticket_id"),
        sa.Index(f"{p}tickets_customer", "customer", "ticket_id"),
        sa.Index(f"{p}tickets_status", "status", "ticket_id"),
    )


def _clocks(p: str, metadata: sa.MetaData) -> None:
    sa.Table(
        f"{p}clocks",
        metadata,
        sa.Column("ticket_id", NAME, primary_key=True),
        sa.Column("metric", NAME, primary_key=True),
        sa.Column("plan", NAME, nullable=False),
        sa.Column("priority", NAME),
        sa.Column("customer", NAME),
        sa.Column("status", sa.String(32), nullable=False),
        _us("opened_at_us", nullable=False),
        sa.Column("calendar", NAME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("target_seconds", sa.BigInteger, nullable=False),
        sa.Column("elapsed_seconds", sa.BigInteger, nullable=False),
        _us("started_at_us"),
        _us("due_at_us"),
        _us("warn_at_us"),
        _us("breached_at_us"),
        _us("stopped_at_us"),
        _us("evaluated_at_us", nullable=False),
        _us("running_due_us"),
        _us("breach_from_us"),
        sa.Column("suspended_seconds", sa.BigInteger, nullable=False),
        sa.Column("suspended", sa.Integer, nullable=False),
        sa.Index(f"{p}clocks_breach", "breach_from_us", "ticket_id", "metric"),
        sa.Index(f"{p}clocks_plan_breach", "plan", "breach_from_us", "ticket_id", "metric"),
        sa.Index(f"{p}clocks_due", "running_due_us", "ticket_id", "metric"),
        sa.Index(f"{p}clocks_opened", "opened_at_us"),
        sa.Index(f"{p}clocks_customer", "customer", "opened_at_us"),
    )


def _small_tables(p: str, metadata: sa.MetaData) -> None:
    sa.Table(
        f"{p}compliance",
        metadata,
        sa.Column("plan", NAME, primary_key=True),
        sa.Column("priority", NAME, primary_key=True),
        sa.Column("metric", NAME, primary_key=True),
        sa.Column("opened_day", sa.Integer, primary_key=True),
        sa.Column("met", sa.BigInteger, nullable=False),
        sa.Column("breached", sa.BigInteger, nullable=False),
        sa.Column("pending", sa.BigInteger, nullable=False),
        sa.Column("suspended", sa.BigInteger, nullable=False),
    )
    sa.Table(
        f"{p}contracts",
        metadata,
        sa.Column("contract_id", NAME, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        _us("occurred_at_us", nullable=False),
        sa.Column("event_id", NAME, nullable=False),
        sa.Column("calendar", NAME),
        sa.Column("names_calendar", sa.Integer, nullable=False),
    )
    sa.Table(
        f"{p}quarantined",
        metadata,
        sa.Column("ticket_id", NAME, primary_key=True),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )


def _generation(generation: int, metadata: sa.MetaData) -> sa.Table:
    """The generation's tables; returns its tracking table."""
    p = f"slaproj_g{generation}_"
    tracking = sa.Table(
        f"{p}tracking",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    _catalog(f"{p}policies", "plan_id", metadata)
    _catalog(f"{p}calendars", "calendar_id", metadata)
    _tickets(p, metadata)
    _clocks(p, metadata)
    _small_tables(p, metadata)
    return tracking


def upgrade() -> None:
    bind = op.get_bind()
    shared = sa.MetaData()
    _tokens(shared)
    registry = _registry(shared)
    shared.create_all(bind, checkfirst=True)
    live = bind.execute(
        sa.select(registry.c.generation).where(registry.c.name == PROJECTION)
    ).scalar()
    if live is None:
        live = 1
        bind.execute(registry.insert().values(name=PROJECTION, generation=live))
    generation = sa.MetaData()
    tracking = _generation(int(live), generation)
    generation.create_all(bind, checkfirst=True)
    if bind.execute(sa.select(tracking.c.name)).first() is None:
        bind.execute(tracking.insert().values(name=PROJECTION, position=0))


def downgrade() -> None:
    raise NotImplementedError("slaclock does not downgrade below its baseline")
