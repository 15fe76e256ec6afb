"""``slaclock migrate``: upgrade the schema to this release's head, or check it (``--check``)."""

from __future__ import annotations

import sys

from sqlalchemy import Engine

from service.migrations.schema import (
    SchemaState,
    head_revision,
    read_state,
    schema_differences,
    upgrade,
)
from service.storage.database import DatabaseConfig, create_sql_engine


def run_migrate(database_url: str, *, check: bool) -> int:
    config = DatabaseConfig.parse(database_url)
    engine = create_sql_engine(config)
    try:
        return _check(engine) if check else _upgrade(engine, config)
    finally:
        engine.dispose()


def describe(state: SchemaState) -> str:
    if state.new:
        return "none (a new database)"
    if not state.versioned:
        return f"{state.revision} (unversioned: made before slaclock had migrations)"
    return str(state.revision)


def _upgrade(engine: Engine, config: DatabaseConfig) -> int:
    result = upgrade(engine)
    print(f"{config.describe()}: schema at {result.after}, was {describe(result.before)}")
    if result.missing_columns:
        # Tables from before the baseline: the projection cannot follow on them.
        print(
            "slaclock: warning: the read models lack columns "
            f"{', '.join(result.missing_columns)}: run `slaclock rebuild`",
            file=sys.stderr,
        )
    return 0


def _check(engine: Engine) -> int:
    """0 when the schema is recorded at head and autogenerate finds it equal to the models."""
    head = head_revision()
    with engine.connect() as conn:
        state = read_state(conn)
        at_head = state.versioned and state.revision == head
        differences = schema_differences(conn) if at_head else []
    if not at_head:
        print(f"schema at {describe(state)}; this slaclock needs {head}: run `slaclock migrate`")
        return 1
    for difference in differences:
        print(f"differs from the models: {difference}")
    if differences:
        return 1
    print(f"schema at {head}, as the models define it")
    return 0
