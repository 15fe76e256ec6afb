"""The compliance summary's counters behind the SLA gauges: ``open_breach`` and ``running``.

Every generation's compliance table gains the two columns, filled from its own clock
rows in the same transaction, so the gauges are right at once and no rebuild is
needed: ``open_breach`` counts the clocks of open tickets (open or awaiting the
customer) that breach at some instant, ``running`` the running clocks with a due
instant, per plan, priority, metric and UTC opening day (as projections/rows.py keeps
them from then on).

Revision ID: 0003_gauge_counters
Revises: 0002_webhooks
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_gauge_counters"
down_revision: str | None = "0002_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_US = 86_400_000_000
COUNTERS = {
    "open_breach": "k.status IN ('open', 'awaiting_customer') AND k.breach_from_us IS NOT NULL",
    "running": "k.running_due_us IS NOT NULL",
}


def _generations(bind: sa.Connection) -> list[int]:
    names = sa.inspect(bind).get_table_names()
    return sorted(
        int(name[len("slaproj_g") : -len("_compliance")])
        for name in names
        if name.startswith("slaproj_g") and name.endswith("_compliance")
    )


def upgrade() -> None:
    bind = op.get_bind()
    for generation in _generations(bind):
        prefix = f"slaproj_g{generation}_"
        have = {c["name"] for c in sa.inspect(bind).get_columns(f"{prefix}compliance")}
        for column, condition in COUNTERS.items():
            if column in have:
                continue
            op.add_column(
                f"{prefix}compliance",
                sa.Column(column, sa.BigInteger, nullable=False, server_default="0"),
            )
            op.execute(
                f"UPDATE {prefix}compliance SET {column} = ("
                f"SELECT COUNT(*) FROM {prefix}clocks k WHERE k.plan = {prefix}compliance.plan"
                f" AND k.priority = {prefix}compliance.priority"
                f" AND k.metric = {prefix}compliance.metric"
                f" AND k.opened_at_us / {DAY_US} = {prefix}compliance.opened_day"
                f" AND {condition})"
            )


def downgrade() -> None:
    raise NotImplementedError("slaclock's migrations go forward only")
