"""Schema migrations (Alembic) for slaclock's own tables: API tokens and the read models.

The migration environment ships inside the package and is configured in code
(``service/migrations/schema.py``), so ``slaclock migrate`` needs no alembic.ini.
The event store's tables (stored events, the library's tracking) belong to the
eventsourcing library, which creates them itself; migrations never touch them.
"""


class SchemaNotReady(Exception):
    """The database's schema is not the one this release runs on (and was not upgraded)."""
