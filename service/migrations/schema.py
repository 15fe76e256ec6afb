"""Bring a database's schema to the revision this release needs, or say why not.

Where a database stands:

- *new*: none of slaclock's tables (the event store's may exist): its schema is
  created at once, at start, so a first ``slaclock serve`` needs no set-up;
- *unversioned*: made by a release before migrations (no ``alembic_version``): it
  has the baseline schema. The baseline revision runs on it (at start, or by
  ``slaclock migrate``): it finds its tables there, adds any missing, and is
  recorded; what follows is as for a database behind head;
- *behind*: a known revision older than this release's head: ``slaclock migrate``
  (or ``SLA_AUTO_MIGRATE=true`` at start) upgrades it; the server refuses to start
  rather than run against tables it would fail on;
- *unknown revision*: made by a newer release: nothing here can use or upgrade it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from projections.schema import REGISTRY, missing_columns, tables_for
from projections.tracking import lock_schema, write_transaction
from service.migrations import SchemaNotReady
from service.migrations.models import (
    index_where_differences,
    live_generation_or_first,
    only_ours,
    target_metadata,
)
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.tokens import api_tokens

log = logging.getLogger(__name__)
# Alembic says which dialect it found and how it treats DDL on every look at the
# version; slaclock logs the upgrades it makes itself.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

BASELINE = "0001_baseline"
WEBHOOK_TABLES = {"slahook_subscriptions", "slahook_marks", "slahook_deliveries"}
VERSION_TABLE = "alembic_version"
_OWN_TABLES = (api_tokens.name, REGISTRY)


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # None: a new database
    versioned: bool  # False: no alembic_version (a new database, or one made before it)

    @property
    def new(self) -> bool:
        return self.revision is None


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration in code: no alembic.ini, wherever slaclock is installed."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = scripts().get_current_head()
    assert head is not None, "service/migrations/versions holds no revision"
    return head


def read_state(conn: Connection) -> SchemaState:
    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is not None:
            return SchemaState(revision, versioned=True)
    if names.intersection(_OWN_TABLES):
        return SchemaState(_recognised(conn, names), versioned=False)
    return SchemaState(None, versioned=False)


def _recognised(conn: Connection, names: set[str]) -> str:
    """The revision an unversioned database's tables already are.

    The baseline, unless it was made by code that already had what later revisions
    add (a process that made the tables itself, such as ``slaclock project`` or a
    test, without recording a revision): then recording the baseline would leave it
    "behind" a head whose tables it has.
    """
    if not names >= WEBHOOK_TABLES:
        return BASELINE
    compliance = [n for n in names if n.startswith("slaproj_g") and n.endswith("_compliance")]
    counters = {"open_breach", "running"}
    inspector = inspect(conn)
    if not all(counters <= {c["name"] for c in inspector.get_columns(n)} for n in compliance):
        return "0002_webhooks"
    if index_where_differences(conn, target_metadata(conn)):
        return "0003_gauge_counters"
    return "0004_partial_indexes"


def needs_upgrade(
    state: SchemaState, *, head: str, known: Collection[str], auto_migrate: bool
) -> bool:
    """Whether to upgrade at start; SchemaNotReady when the database cannot be used as it is."""
    if state.revision == head:
        return False
    if state.new:
        return True
    if state.revision not in known:
        raise SchemaNotReady(
            f"the database schema is at revision {state.revision!r}, which this slaclock "
            f"does not know (made by a newer release?); it runs on {head!r}"
        )
    if auto_migrate:
        return True
    raise SchemaNotReady(
        f"the database schema is at revision {state.revision!r} and this slaclock needs "
        f"{head!r}: run `slaclock migrate` (or start with SLA_AUTO_MIGRATE=true)"
    )


def prepare_schema(engine: Engine, *, auto_migrate: bool) -> None:
    """At start: create a new database's schema, upgrade or refuse one behind head."""
    with engine.connect() as conn:
        state = read_state(conn)
    if not state.new and not state.versioned:
        record_baseline(engine)
        with engine.connect() as conn:
            state = read_state(conn)
    known = {script.revision for script in scripts().walk_revisions()}
    if needs_upgrade(state, head=head_revision(), known=known, auto_migrate=auto_migrate):
        upgrade(engine)


def record_baseline(engine: Engine) -> None:
    """Run the baseline on a database made before migrations, which records it.

    It changes no existing table (it only adds one a crash left out), so a process
    does it at start without being asked, whatever revisions come after.
    """
    with _schema_transaction(engine) as conn:
        state = read_state(conn)  # under the lock: another process may have done it
        if not state.new and not state.versioned and state.revision is not None:
            # Each revision only makes what is missing: this changes no existing table.
            command.upgrade(alembic_config(conn), state.revision)
            log.info("database schema recorded at %s (made before migrations)", state.revision)


def prepared_engine(config: DatabaseConfig, *, auto_migrate: bool) -> Engine:
    """The SQLAlchemy engine, once the schema is ready (see ``prepare_schema``)."""
    engine = create_sql_engine(config)
    try:
        prepare_schema(engine, auto_migrate=auto_migrate)
    except BaseException:
        engine.dispose()
        raise
    return engine


@dataclass(frozen=True)
class Upgrade:
    before: SchemaState
    after: str
    missing_columns: list[str]  # older than the baseline: only a rebuild adds them


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Upgrade in one transaction, serialised with every other schema change."""
    with _schema_transaction(engine) as conn:
        # Again, under the lock: another process may have upgraded meanwhile. An
        # unversioned database runs the baseline, which only adds the tables it lacks.
        before = read_state(conn)
        command.upgrade(alembic_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
        missing = missing_columns(conn, tables_for(live_generation_or_first(conn)))
    assert after is not None
    if after != before.revision or not before.versioned:
        log.info("database schema upgraded to %s (was %s)", after, before.revision or "none")
    return Upgrade(before, after, missing)


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, write_transaction(conn):
        lock_schema(conn)
        yield conn


def schema_differences(conn: Connection) -> list[object]:
    """What autogenerate finds between the database and the models (empty: they agree)."""
    target = target_metadata(conn)
    context = MigrationContext.configure(
        conn, opts={"include_name": only_ours(target), "compare_type": True}
    )
    return [*compare_metadata(context, target), *index_where_differences(conn, target)]
