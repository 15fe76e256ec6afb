"""A prompt queue for SQLite's one write lock.

SQLite lets one connection write at a time; the others wait in its busy
handler, which sleeps and retries (1, 2, 5, 10 ... 100 ms between tries).
With the event writer and the projections committing many times a second,
each often found the other's lock and slept far longer than the lock was
held: read-your-writes took 140 ms at 150 writes a second.

Writers that go through this gate first take an exclusive ``flock`` on a file
beside the database, and then SQLite's lock: the kernel wakes the next one as
soon as the lock is released, in this process or another (the projections'
child process, ``slaclock project``, a rebuild). Each entry opens its own file
description, so threads exclude each other too; a thread already inside does
not wait for itself. Writers that bypass the gate still meet SQLite's lock and
its busy handler, as before: the gate only shortens waits.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_inside = threading.local()


def _held() -> bool:
    return bool(getattr(_inside, "depth", 0))


def gate_path(database: Path | str) -> Path:
    return Path(f"{database}-writegate")


@contextmanager
def write_gate(database: Path | str | None) -> Iterator[None]:
    """Hold the gate of the SQLite file ``database`` (None: no gate, as for PostgreSQL)."""
    if not database or str(database).startswith((":memory:", "file:")) or _held():
        yield
        return
    try:
        fd = os.open(gate_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        # The directory is gone or unwritable: the write itself fails and says so
        # (an outage the store's circuit must see), not the gate in front of it.
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _inside.depth = 1
        try:
            yield
        finally:
            _inside.depth = 0
    finally:
        os.close(fd)  # releases the lock
