"""SQLite binds None as NULL through an adapter the engine registers (a faster lookup).

``bind_none_directly`` registers a C-level adapter for None with Python's
sqlite3, process-wide, so that binding a None finds it at once instead of
searching for one: the live follower's rows carry some ten Nones each. What
is stored must not change: NULL, found by ``IS NULL`` and left out of the
partial indexes, through SQLAlchemy's many-row path and plain sqlite3 alike.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import text

from service.storage.database import DatabaseConfig, bind_none_directly, create_sql_engine


def test_the_engine_registers_the_adapter_and_none_is_still_null(tmp_path: Path) -> None:
    engine = create_sql_engine(DatabaseConfig.parse(f"sqlite:///{tmp_path / 'slaclock.db'}"))
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
    rows = [(1, None, "a"), (2, 5, None), (3, None, None)]
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, due INTEGER, who TEXT)")
        conn.exec_driver_sql("CREATE INDEX t_due ON t (due) WHERE due IS NOT NULL")
        conn.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?)", rows)
    with engine.connect() as conn:
        nulls = conn.execute(text("SELECT id, due IS NULL, who IS NULL FROM t ORDER BY id")).all()
        indexed = conn.execute(text("SELECT id FROM t INDEXED BY t_due WHERE due >= 0")).all()
    engine.dispose()
    assert [tuple(r) for r in nulls] == [(1, 1, 0), (2, 0, 1), (3, 1, 1)]
    assert [tuple(r) for r in indexed] == [(2,)]


def test_registering_again_changes_nothing() -> None:
    bind_none_directly()
    bind_none_directly()
    with closing(sqlite3.connect(":memory:")) as conn:
        stored = conn.execute("SELECT ? IS NULL, typeof(?)", (None, None)).fetchone()
    assert stored == (1, "null")
