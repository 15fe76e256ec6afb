"""A state-file connection opened while the file was read-only is not kept in the pool.

SQLite opens a file it may not write read-only, without a word, and that
connection refuses every write for good: kept in the pool, it went on answering
503 after the file was writable again (seen in `test_sqlite_faults`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from service.storage.database import DatabaseConfig, create_sql_engine
from tests.api.test_sqlite_faults import read_only_capable, set_read_only, state_files

__all__ = ["read_only_capable"]  # the fixture, used by name


@pytest.mark.usefixtures("read_only_capable")
def test_a_connection_opened_read_only_is_dropped_after_its_failed_write(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "slaclock.db"
    engine = create_sql_engine(DatabaseConfig.parse(f"sqlite:///{database}"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE notes (note TEXT)")
        engine.dispose()  # the next connection is opened while the file is read-only
        set_read_only(state_files(database), True)
        try:
            with pytest.raises(OperationalError, match="readonly"), engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO notes VALUES ('refused')")
        finally:
            set_read_only(state_files(database), False)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO notes VALUES ('kept')")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT note FROM notes").scalars().all() == ["kept"]
    finally:
        engine.dispose()
