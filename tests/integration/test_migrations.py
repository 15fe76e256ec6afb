"""`slaclock migrate` upgrades a database made by the release before migrations, in place.

Each test runs on a new SQLite file and on a new PostgreSQL database.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text, update

from projections.schema import PROJECTION, create_generation, tables_for
from projections.tracking import ensure_schema
from projections.webhooks.tables import metadata as webhook_metadata
from service.cli.main import main
from service.migrations.schema import (
    BASELINE,
    SchemaState,
    head_revision,
    read_state,
    schema_differences,
    upgrade,
)
from service.migrations.versions.v0004_partial_indexes import PARTIAL
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore
from service.storage.tokens import TokenStore
from tests.integration.test_projection_support import (
    LogWriter,
    database,
    follow_all,
    snapshot,
    summary_from_clocks,
    write_scenario,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_sql_engine(DatabaseConfig.parse(database_url))
    yield engine
    engine.dispose()


def drop_what_the_release_lacked(engine: Engine) -> None:
    """Today's ensure_schema makes what revisions 0002 and 0003 add: take it away."""
    webhook_metadata.drop_all(engine)
    with engine.begin() as conn:
        for column in GAUGE_COUNTERS:
            conn.execute(text(f"ALTER TABLE slaproj_g1_compliance DROP COLUMN {column}"))


GAUGE_COUNTERS = ("open_breach", "running")


def make_as_the_release_did(database_url: str, engine: Engine) -> str:
    """The schema exactly as the release before migrations made it: the event store's
    tables, then create_all for the tokens and for the registry and first generation.
    Returns a token made in it."""
    EventStore(DatabaseConfig.parse(database_url)).close()
    tokens = TokenStore(engine)
    tokens.create_schema()
    ensure_schema(engine)
    drop_what_the_release_lacked(engine)
    _, token = tokens.create(["tickets:read"], "reporting")
    live = tables_for(1)
    with engine.begin() as conn:
        conn.execute(live.tickets.insert().values(**TICKET))
        conn.execute(
            update(live.tracking).where(live.tracking.c.name == PROJECTION).values(position=42)
        )
    return token


TICKET = {
    "ticket_id": "T-1",
    "plan": "gold",
    "policy_version": 1,
    "status": "open",
    "opened_at_us": 1_700_000_000_000_000,
    "last_event_at_us": 1_700_000_000_000_000,
    "event_count": 1,
    "last_position": 42,
    "facts": "[]",
    "contract": "acme",
}


def test_migrate_upgrades_a_database_made_before_migrations(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    token = make_as_the_release_did(database_url, engine)
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(BASELINE, versioned=False)

    assert main(["migrate", "--database-url", database_url]) == 0
    assert f"schema at {head_revision()}, was {BASELINE} (unversioned" in capsys.readouterr().out

    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=True)
        assert schema_differences(conn) == []
        live = tables_for(1)
        row = conn.execute(select(live.tickets)).mappings().one()
        position = conn.execute(select(live.tracking.c.position)).scalar()
    assert {k: row[k] for k in TICKET} == TICKET
    assert position == 42
    assert TokenStore(engine).authenticate(token) == frozenset({"tickets:read"})
    assert main(["migrate", "--check", "--database-url", database_url]) == 0


def test_migrate_twice_changes_nothing_the_second_time(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database-url", database_url]) == 0
    assert "was none (a new database)" in capsys.readouterr().out
    assert main(["migrate", "--database-url", database_url]) == 0
    assert f"schema at {head_revision()}, was {head_revision()}\n" in capsys.readouterr().out


def test_the_migrations_head_is_what_the_models_define(engine: Engine) -> None:
    """A model change without a revision that makes it fails here."""
    upgrade(engine)
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=True)
        assert schema_differences(conn) == []


def test_a_rebuilt_generation_matches_the_models_too(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild makes its generation from the models, keys added after a bulk load."""
    monkeypatch.setenv("SLA_DATABASE_URL", database_url)
    assert main(["policies", "load", "--builtin"]) == 0
    assert main(["rebuild"]) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT generation FROM slaproj_registry")).scalar() == 2
        assert schema_differences(conn) == []


def test_the_comparison_sees_a_difference(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX slaproj_g1_clocks_due"))
    with engine.connect() as conn:
        (difference,) = schema_differences(conn)
    assert isinstance(difference, tuple)
    assert difference[0] == "add_index"
    assert main(["migrate", "--check", "--database-url", database_url]) == 1
    assert "slaproj_g1_clocks_due" in capsys.readouterr().out


def test_check_fails_on_a_database_behind_head(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    make_as_the_release_did(database_url, engine)
    assert main(["migrate", "--check", "--database-url", database_url]) == 1
    assert "run `slaclock migrate`" in capsys.readouterr().out


def test_a_new_database_is_created_at_head_on_first_use(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLA_DATABASE_URL", database_url)
    assert main(["tokens", "list", "--json"]) == 0
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=True)
        assert schema_differences(conn) == []


def test_a_start_records_the_baseline_of_a_database_made_before_migrations(
    database_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = make_as_the_release_did(database_url, engine)
    monkeypatch.setenv("SLA_DATABASE_URL", database_url)
    # That release is recognised as the baseline, which is behind this one (webhooks).
    assert main(["tokens", "list"]) == 1
    assert "run `slaclock migrate`" in capsys.readouterr().err
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(BASELINE, versioned=True)
    assert main(["migrate"]) == 0
    assert main(["tokens", "list"]) == 0
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=True)
        assert schema_differences(conn) == []
        assert conn.execute(select(tables_for(1).tickets.c.ticket_id)).scalars().all() == ["T-1"]
    assert TokenStore(engine).authenticate(token) == frozenset({"tickets:read"})


def test_serve_refuses_a_schema_made_by_a_newer_release(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "serve", "--port", "1"],
        cwd=tmp_path,
        env={"SLA_DATABASE_URL": database_url, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "revision '9999_future', which this slaclock does not know" in done.stderr


def test_migrate_names_columns_older_than_the_baseline_and_the_rebuild_that_adds_them(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    make_as_the_release_did(database_url, engine)
    with engine.begin() as conn:  # as a release before the tickets' contract made it
        conn.execute(text("DROP INDEX slaproj_g1_tickets_contract"))
        conn.execute(text("ALTER TABLE slaproj_g1_tickets DROP COLUMN contract"))
    assert main(["migrate", "--database-url", database_url]) == 0
    err = capsys.readouterr().err
    assert "lack columns slaproj_g1_tickets.contract: run `slaclock rebuild`" in err


def test_migrate_refuses_a_url_it_cannot_use(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", "mysql://db/slaclock"]) == 1
    assert "unsupported database URL scheme 'mysql'" in capsys.readouterr().err


def test_the_gauge_counters_are_added_and_counted_from_the_clock_rows(
    database_url: str, engine: Engine
) -> None:
    with database(database_url) as (store, _):
        write_scenario(LogWriter(store), tickets=60)
        follow_all(engine, store)
    expected = summary_from_clocks(engine)
    assert any(row[-2] for row in expected)
    assert any(row[-1] for row in expected)
    drop_what_the_release_lacked(engine)

    assert main(["migrate", "--database-url", database_url]) == 0

    with engine.connect() as conn:
        assert schema_differences(conn) == []
        compliance = tables_for(1).compliance
        rows = conn.execute(select(compliance)).all()
    assert sorted(tuple(row) for row in rows) == expected


def test_an_unversioned_database_with_todays_tables_is_recognised_at_head(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process that made the tables itself (today's ensure_schema), recording nothing.
    EventStore(DatabaseConfig.parse(database_url)).close()
    TokenStore(engine).create_schema()
    ensure_schema(engine)
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=False)
    monkeypatch.setenv("SLA_DATABASE_URL", database_url)
    assert main(["tokens", "list"]) == 0
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=True)
        assert schema_differences(conn) == []


def test_the_listing_indexes_become_partial_in_every_generation(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with database(database_url) as (store, _):
        write_scenario(LogWriter(store), tickets=30)
        follow_all(engine, store)
    TokenStore(engine).create_schema()
    with engine.begin() as conn:
        create_generation(conn, 2)
    # As revision 0003 left them (unversioned: a process made them itself).
    with engine.begin() as conn:
        for generation in (1, 2):
            for table, index, columns, _where in PARTIAL:
                name, on = f"slaproj_g{generation}_{index}", f"slaproj_g{generation}_{table}"
                conn.execute(text(f"DROP INDEX {name}"))
                conn.execute(text(f"CREATE INDEX {name} ON {on} ({', '.join(columns)})"))
    before = snapshot(engine)
    with engine.connect() as conn:
        assert read_state(conn) == SchemaState("0003_gauge_counters", versioned=False)
        found = schema_differences(conn)
    assert sorted(d[1] for d in found if isinstance(d, tuple) and d[0] == "index_where") == sorted(
        f"slaproj_g1_{index}" for _, index, _, _ in PARTIAL
    )
    assert main(["migrate", "--check", "--database-url", database_url]) == 1
    assert "needs 0004_partial_indexes" in capsys.readouterr().out

    assert main(["migrate", "--database-url", database_url]) == 0

    with engine.connect() as conn:
        assert read_state(conn) == SchemaState(head_revision(), versioned=True)
        assert schema_differences(conn) == []
        inspector = inspect(conn)
        for generation in (1, 2):
            for table, index, _, where in PARTIAL:
                (found_index,) = (
                    ix
                    for ix in inspector.get_indexes(f"slaproj_g{generation}_{table}")
                    if ix["name"] == f"slaproj_g{generation}_{index}"
                )
                stored = found_index["dialect_options"][f"{conn.dialect.name}_where"]
                assert str(stored).strip("()") == where
    assert snapshot(engine) == before
