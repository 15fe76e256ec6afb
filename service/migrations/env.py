"""Alembic's environment: always online, on the connection service/migrations/schema.py passes.

That connection is already inside the transaction (and, on PostgreSQL, holds the
schema advisory lock) that the caller commits, so two processes starting on the
same new database cannot both create it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from service.migrations.models import only_ours, target_metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection) or context.is_offline_mode():
    raise RuntimeError("slaclock's migrations run online, through service.migrations.schema")
target = target_metadata(connection)
context.configure(
    connection=connection,
    target_metadata=target,
    include_name=only_ours(target),
    compare_type=True,
    render_as_batch=True,  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
