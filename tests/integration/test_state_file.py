"""SQLite keeps the event log in one file and every other table in the state file beside it.

Two files are two write locks: the projections' commits no longer queue the
ingest's appends. A database made before the split has its tables moved into
the state file by the first process that opens it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from projections.eventtable import EventTable
from projections.schema import tables_for
from projections.tracking import ensure_schema
from service.cli.main import main
from service.migrations.schema import head_revision, prepare_schema, prepared_engine
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore
from service.storage.statefile import move_state_tables, state_path
from service.storage.tokens import TokenStore
from tests.integration.test_projection_support import LogWriter, database, follow_all

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def tables_in(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def indexes_in(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    return {name for (name,) in rows}


def test_the_state_file_sits_beside_the_log() -> None:
    assert state_path(Path("/data/slaclock.db")) == Path("/data/slaclock-state.db")
    assert state_path(Path("/data/log")) == Path("/data/log-state")
    assert DatabaseConfig.parse("sqlite:////data/x.sqlite3").state_path == Path(
        "/data/x-state.sqlite3"
    )
    assert DatabaseConfig.parse("postgresql://h/db").state_path is None


def test_a_new_database_keeps_only_the_log_in_the_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "slaclock.db"
    url = f"sqlite:///{log_file}"
    with database(url) as (store, engine):
        ensure_schema(engine)
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("T-1", T0)
        follow_all(engine, store)
        with engine.connect() as conn:
            assert conn.execute(select(tables_for(1).tickets.c.ticket_id)).scalars().all() == [
                "T-1"
            ]
    assert tables_in(log_file) == {"stored_events"}
    assert "slaproj_g1_tickets" in tables_in(tmp_path / "slaclock-state.db")
    assert "stored_events" not in tables_in(tmp_path / "slaclock-state.db")


def test_a_relative_path_opens_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As `make run` names it (sqlite:///data/slaclock.db): the second start reads it too."""
    monkeypatch.chdir(tmp_path)
    config = DatabaseConfig.parse("sqlite:///data/slaclock.db")
    for start in range(2):
        store, engine = EventStore(config), create_sql_engine(config)
        ensure_schema(engine)
        LogWriter(store).calendar(f"office-{start}")
        store.close()
        engine.dispose()
    assert tables_in(tmp_path / "data" / "slaclock.db") == {"stored_events"}


def made_before_the_split(log_file: Path) -> tuple[str, int]:
    """A database as releases before the split made it: every table in one file.

    Returns a token made in it and the count of events stored."""
    url = f"sqlite:///{log_file}"
    single = create_engine(f"sqlite+pysqlite:///{log_file}")
    try:
        prepare_schema(single, auto_migrate=True)
        _, token = TokenStore(single).create(["tickets:read"], "reporting")
        store = EventStore(DatabaseConfig.parse(url))
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for n in range(5):
            writer.opened(f"T-{n}", T0 + timedelta(minutes=n))
        follow_all(single, store)
        store.close()
    finally:
        single.dispose()
    return token, 7


def test_a_database_made_before_the_split_has_its_tables_moved(tmp_path: Path) -> None:
    log_file = tmp_path / "slaclock.db"
    token, events = made_before_the_split(log_file)
    before_tables = tables_in(log_file) - {"stored_events"}
    before_indexes = indexes_in(log_file)
    assert "api_tokens" in before_tables
    assert "slaproj_g1_clocks" in before_tables

    config = DatabaseConfig.parse(f"sqlite:///{log_file}")
    engine = prepared_engine(config, auto_migrate=False)  # at head already: no migration
    try:
        assert tables_in(log_file) == {"stored_events"}
        state = tmp_path / "slaclock-state.db"
        assert tables_in(state) == before_tables
        assert indexes_in(state) == before_indexes - indexes_in(log_file)
        assert TokenStore(engine).authenticate(token) == frozenset({"tickets:read"})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM slaproj_g1_tickets")).scalar() == 5
            assert conn.execute(text("SELECT position FROM slaproj_g1_tracking")).scalar() == 7
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == head_revision()
        store = EventStore(config)
        assert store.recorder.max_notification_id() == events
        store.close()
        # Opening again moves nothing.
        assert move_state_tables(log_file, state) == []
    finally:
        engine.dispose()


def test_a_move_cut_short_keeps_the_state_files_copy(tmp_path: Path) -> None:
    """A crash between the copy and the drop leaves both; the state file's copy wins."""
    log_file = tmp_path / "slaclock.db"
    token, _ = made_before_the_split(log_file)
    config = DatabaseConfig.parse(f"sqlite:///{log_file}")
    create_sql_engine(config).dispose()
    # The copy left behind: an older tokens table in the log's file, without the token.
    with closing(sqlite3.connect(log_file)) as conn:
        conn.execute("CREATE TABLE api_tokens (token_hash TEXT PRIMARY KEY)")
        conn.commit()

    engine = create_sql_engine(config)
    try:
        assert tables_in(log_file) == {"stored_events"}
        assert TokenStore(engine).authenticate(token) == frozenset({"tickets:read"})
    finally:
        engine.dispose()


def test_the_projections_write_lock_does_not_hold_up_an_append(tmp_path: Path) -> None:
    """A long write transaction on the state file: the event store still appends at once."""
    log_file = tmp_path / "slaclock.db"
    with database(f"sqlite:///{log_file}") as (store, engine):
        ensure_schema(engine)
        writer = LogWriter(store)
        held, release = threading.Event(), threading.Event()

        def hold_the_state_lock() -> None:
            with engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("UPDATE slaproj_g1_tracking SET position = position")
                held.set()
                release.wait(10)
                conn.rollback()

        holder = threading.Thread(target=hold_the_state_lock)
        holder.start()
        try:
            assert held.wait(5)
            started = time.monotonic()
            writer.calendar("office")
            # The busy handler would wait the whole 10 s for a lock in the same file.
            assert time.monotonic() - started < 2
        finally:
            release.set()
            holder.join()


def test_a_rebuild_reads_the_log_from_its_own_file(tmp_path: Path) -> None:
    """The rebuild's fast path reads the event table straight from the log's file."""
    url = f"sqlite:///{tmp_path / 'slaclock.db'}"
    with database(url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        table = EventTable.of(engine, store)
        assert table is not None
        assert [row[2] for row in table.by_aggregate(up_to=10, page=10)] == [1]
        assert table.url.endswith("slaclock.db")


@pytest.fixture
def rebuilt_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'slaclock.db'}"
    monkeypatch.setenv("SLA_DATABASE_URL", url)
    return url


def test_rebuild_on_the_split_layout_equals_the_followed_read_models(rebuilt_url: str) -> None:
    assert main(["policies", "load", "--builtin"]) == 0
    with database(rebuilt_url) as (store, engine):
        writer = LogWriter(store)
        for n in range(3):
            writer.opened(f"T-{n}", T0 + timedelta(hours=n), plan="standard")
        follow_all(engine, store)
        with engine.connect() as conn:
            followed = conn.execute(text("SELECT ticket_id FROM slaproj_g1_tickets")).all()
    assert main(["rebuild"]) == 0
    with database(rebuilt_url) as (_, engine), engine.connect() as conn:
        rebuilt = conn.execute(text("SELECT ticket_id FROM slaproj_g2_tickets")).all()
    assert sorted(rebuilt) == sorted(followed)
    assert len(rebuilt) == 3
