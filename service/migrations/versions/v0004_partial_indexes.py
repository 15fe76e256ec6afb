"""Partial listing indexes: each holds only the rows its listings can ask for.

In every generation six indexes are made again with a ``WHERE``: the tickets'
contract and customer indexes and the clocks' customer index hold the rows that
name one; the clocks' due index holds the running clocks; the two breach indexes
hold the breaches recorded at an evaluation (a running clock past its due
instant is found by the due index). The live follower writes fewer index entries
per event, and a met clock is in none of the due or breach indexes.

An index a generation does not have (a rebuild's table still loading) is left to
the rebuild, which makes today's indexes when its load ends. Rebuilding an index
reads the whole table: on a large history this revision takes a while, as a
``slaclock rebuild`` would.

Revision ID: 0004_partial_indexes
Revises: 0003_gauge_counters
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_partial_indexes"
down_revision: str | None = "0003_gauge_counters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns, the rows it holds), as projections/schema.py defines them today.
PARTIAL = (
    ("tickets", "tickets_contract", ("contract", "ticket_id"), "contract IS NOT NULL"),
    ("tickets", "tickets_customer", ("customer", "ticket_id"), "customer IS NOT NULL"),
    (
        "clocks",
        "clocks_breach",
        ("breach_from_us", "ticket_id", "metric"),
        "breached_at_us IS NOT NULL",
    ),
    (
        "clocks",
        "clocks_plan_breach",
        ("plan", "breach_from_us", "ticket_id", "metric"),
        "breached_at_us IS NOT NULL",
    ),
    (
        "clocks",
        "clocks_due",
        ("running_due_us", "ticket_id", "metric"),
        "running_due_us IS NOT NULL",
    ),
    ("clocks", "clocks_customer", ("customer", "opened_at_us"), "customer IS NOT NULL"),
)


def _generations(bind: sa.Connection) -> list[int]:
    names = sa.inspect(bind).get_table_names()
    return sorted(
        int(name[len("slaproj_g") : -len("_clocks")])
        for name in names
        if name.startswith("slaproj_g") and name.endswith("_clocks")
    )


def upgrade() -> None:
    bind = op.get_bind()
    for generation in _generations(bind):
        prefix = f"slaproj_g{generation}_"
        inspector = sa.inspect(bind)
        for table, index, columns, where in PARTIAL:
            have = {ix["name"] for ix in inspector.get_indexes(prefix + table)}
            if prefix + index not in have:
                continue
            op.drop_index(prefix + index, table_name=prefix + table)
            op.create_index(
                prefix + index,
                prefix + table,
                list(columns),
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )


def downgrade() -> None:
    raise NotImplementedError("slaclock's migrations go forward only")
