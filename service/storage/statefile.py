"""SQLite keeps the event log and the service's other tables in two files.

SQLite has one write lock per file. With the read models in the event log's
file, the projections' commits (a ticket row and three clock rows under their
indexes for each new ticket) held that lock for longer than the ingest's own
appends, and the ingest queued behind them: batch ingest with the projections
on ran at 0.59x the rate with them off. In a file of their own they take their
own lock, and the writer only shares the disk and the CPU with them.

The log stays in the file ``SLA_DATABASE_URL`` names; everything else (the read
models, the projections' position, API tokens, webhook subscriptions, marks and
deliveries, the schema's revision) lives in the *state file* beside it:
``slaclock.db`` -> ``slaclock-state.db``. Both are needed to restore a backup:
the read models can be rebuilt from the log, but tokens and webhooks cannot.

A database made before the split has all its tables in the log's file. The
first process that opens it moves them into the state file: it copies them in
one transaction, then drops them from the log's file in another. A crash in
between leaves both copies; the state file's is then the one kept, and the
leftovers are dropped at the next start.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from projections.write_gate import write_gate

log = logging.getLogger(__name__)

# eventsourcing names its tables "stored_" + purpose; only "stored_events" is used.
EVENT_LOG_PREFIX = "stored_"


def state_path(log_path: Path) -> Path:
    """The state file beside the log's file ``log_path``."""
    return log_path.with_name(f"{log_path.stem}-state{log_path.suffix}")


def move_state_tables(log_path: Path, state: Path) -> list[str]:
    """Move any tables other than the log's out of ``log_path`` into ``state``.

    Returns the names moved (none for a database made after the split). Runs under
    the log's write gate, so that two processes starting together move them once.
    """
    if not log_path.exists() or not _state_tables(log_path):
        return []
    with write_gate(log_path), closing(_connect(state)) as conn:
        conn.execute("ATTACH DATABASE ? AS legacy", (str(log_path),))
        names = _state_tables_of(conn, "legacy")
        if not names:
            return []
        if not _state_tables_of(conn, "main"):
            _copy(conn, names)
            log.info("moved %d tables from %s into %s", len(names), log_path, state)
        _drop(conn, names)
        return names


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _state_tables(log_path: Path) -> list[str]:
    with closing(sqlite3.connect(f"{log_path.absolute().as_uri()}?mode=ro", uri=True)) as conn:
        conn.execute("PRAGMA busy_timeout=30000")
        return _state_tables_of(conn, "main")


def _state_tables_of(conn: sqlite3.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE ? ESCAPE '\\'",
        (EVENT_LOG_PREFIX.replace("_", "\\_") + "%",),
    ).fetchall()
    return sorted(name for (name,) in rows)


def _copy(conn: sqlite3.Connection, names: list[str]) -> None:
    """Each table, its rows and its indexes, in one transaction of the state file."""
    marks = ", ".join("?" for _ in names)
    schema = conn.execute(
        "SELECT type, name, sql FROM legacy.sqlite_master "
        f"WHERE tbl_name IN ({marks}) AND sql IS NOT NULL "
        "ORDER BY type = 'index', name",
        names,
    ).fetchall()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for kind, name, sql in schema:
            conn.execute(sql)  # unqualified: made in main, the state file
            if kind == "table":
                conn.execute(f'INSERT INTO main."{name}" SELECT * FROM legacy."{name}"')
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _drop(conn: sqlite3.Connection, names: list[str]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in names:
            conn.execute(f'DROP TABLE legacy."{name}"')
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
