"""At most one active projection worker per database; the others stand by.

PostgreSQL: a session-level advisory lock held on a dedicated connection; if
that connection dies the server frees the lock and a standby takes over.
SQLite: an exclusive ``flock`` on a file beside the database, freed by the
kernel when the holder exits. Either way exactly-once does not rest on the
lock (the tracked position is advanced by compare-and-set); the lock only
keeps standbys from doing wasted work.
"""

from __future__ import annotations

import fcntl
import logging
import time
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x51A_C10C_0002
# The webhooks dispatcher's own single-active lock (``slaclock webhooks``).
LOCK_KEYS = {"projection": ADVISORY_KEY, "webhooks": 0x51A_C10C_0003}


class WorkerLock(Protocol):
    def acquire(self) -> bool:
        """True while this process holds the lock (taking it if free)."""
        ...

    def release(self) -> None: ...


class AdvisoryLock:
    """``ping_seconds``: while held, how long ``acquire`` trusts the lock's connection
    before asking it again (0: on every call)."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY, ping_seconds: float = 0.0) -> None:
        self._engine = engine
        self._key = key
        self._ping_seconds = ping_seconds
        self._pinged = 0.0
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        try:
            if self._conn is not None:
                if time.monotonic() - self._pinged >= self._ping_seconds:
                    self._conn.execute(text("SELECT 1"))
                    self._conn.commit()
                    self._pinged = time.monotonic()
                return True
            conn = self._engine.connect()
            taken = conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar()
            conn.commit()
        except SQLAlchemyError:
            log.warning("projection lock connection lost; standing by", exc_info=True)
            self._drop()
            return False
        if taken:
            self._conn, self._pinged = conn, time.monotonic()
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                self._conn.commit()
            except SQLAlchemyError:
                log.warning("could not release the projection lock cleanly", exc_info=True)
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                log.debug("closing a dead lock connection failed", exc_info=True)
            self._conn = None


class FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = self._path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def worker_lock(engine: Engine, name: str = "projection", ping_seconds: float = 0.0) -> WorkerLock:
    """The single-active lock ``name`` (``projection`` or ``webhooks``) of this database.

    ``ping_seconds`` (PostgreSQL): see AdvisoryLock.
    """
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database:
            raise ValueError(f"the {name} worker needs a SQLite file, not an in-memory database")
        return FileLock(Path(f"{database}.{name}.lock"))
    return AdvisoryLock(engine, LOCK_KEYS[name], ping_seconds)
