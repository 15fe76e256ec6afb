"""What the migrations must arrive at: the tables today's models define.

Autogenerate compares a database with this (``slaclock migrate --check``, the tests,
and a developer writing a new revision). Only slaclock's own tables take part: the
event store's, a rebuild's other generations and its staging tables are left out.
"""

from __future__ import annotations

from alembic.runtime.environment import IncludeNameFn, NameFilterParentNames, NameFilterType
from sqlalchemy import Connection, Index, MetaData, inspect, select

from projections.schema import PROJECTION, REGISTRY, registry, tables_for
from projections.webhooks.tables import metadata as webhook_metadata
from service.storage.tokens import api_tokens


def live_generation_or_first(conn: Connection) -> int:
    """The registry's live generation; the first one while there is no registry yet."""
    if not inspect(conn).has_table(REGISTRY):
        return 1
    live = conn.execute(select(registry.c.generation).where(registry.c.name == PROJECTION)).scalar()
    return 1 if live is None else int(live)


def target_metadata(conn: Connection) -> MetaData:
    """The tokens table, the registry, the webhook tables and the live generation's tables."""
    combined = MetaData()
    generation = tables_for(live_generation_or_first(conn))
    ours = (*webhook_metadata.sorted_tables, *generation.metadata.sorted_tables)
    for table in (api_tokens, registry, *ours):
        table.to_metadata(combined)
    return combined


def only_ours(target: MetaData) -> IncludeNameFn:
    """An ``include_name`` hook keeping the reflected tables ``target`` defines.

    An index ``<table>_pkey`` is left out too: on SQLite it stands in for a primary key
    that a bulk rebuild cannot add to a table it created without one.
    """

    def include(name: str | None, type_: NameFilterType, parents: NameFilterParentNames) -> bool:
        if type_ == "table":
            return name in target.tables
        if type_ == "index" and name is not None:
            return name != f"{parents.get('table_name')}_pkey"
        return True

    return include


def index_where_differences(conn: Connection, target: MetaData) -> list[tuple[str, ...]]:
    """``("index_where", name, in the database, in the models)`` per index whose rows differ.

    Autogenerate compares an index's columns, not the ``WHERE`` of a partial one.
    """
    dialect = conn.dialect.name
    inspector = inspect(conn)
    found: list[tuple[str, ...]] = []
    present = set(inspector.get_table_names())
    for table in target.tables.values():
        if table.name not in present:
            continue  # a missing table is autogenerate's to report
        reflected = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            have = reflected.get(str(index.name))
            if have is None:
                continue  # a missing index is autogenerate's to report
            stored = _where(have.get("dialect_options", {}).get(f"{dialect}_where"))
            wanted = _where(_model_where(index, dialect))
            if stored != wanted:
                found.append(("index_where", str(index.name), stored, wanted))
    return found


def _model_where(index: Index, dialect: str) -> object:
    return index.dialect_options[dialect].get("where")


def _where(clause: object) -> str:
    """A ``WHERE`` as text both databases' reflection and the models compare by."""
    if clause is None:
        return ""
    words = str(clause).replace("(", " ").replace(")", " ").split()
    return " ".join(words).lower()
