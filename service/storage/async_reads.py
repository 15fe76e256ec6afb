"""PostgreSQL connections the server's event loop awaits its listing reads on.

An ``AsyncDriver`` (projections/reads/statement_reads.py): each read is one statement
in autocommit, on a connection kept for the next read. Connections are per
event loop (a psycopg async connection waits on the loop that runs it), at most
``size`` per loop at once; a read beyond that waits for one to come back.

A connection that failed, or whose read was cancelled or timed out, is closed,
never reused: its state is unknown. A lost or stalled server closes the idle
ones too, as SQLAlchemy's pool does on a disconnect: after a failover the
reads in flight fail (a 503, as on the thread; the reader tries once more
first), and the next ones connect to the new primary (the URL's
``target_session_attrs``). No ping before each read: that was a round trip per
read for what a failed read tells anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.exc import DBAPIError, OperationalError

from service.storage.database import DatabaseConfig

# As many as the reads one loop keeps in flight at 500 a second with a few ms each.
ASYNC_READ_CONNECTIONS = 8
_KEPT_NAMES = 1000


@dataclass
class _LoopConnections:
    slots: asyncio.Semaphore
    idle: list[psycopg.AsyncConnection[Any]] = field(default_factory=list)


class AsyncReads:
    def __init__(
        self, config: DatabaseConfig, *, timeout: float, size: int = ASYNC_READ_CONNECTIONS
    ) -> None:
        """``timeout``: seconds a read (connecting included) may take before it fails."""
        self._conninfo = make_conninfo(config.conninfo, **config.connection_defaults())
        self._timeout = timeout
        self._size = size
        self._loops: dict[asyncio.AbstractEventLoop, _LoopConnections] = {}
        self._names: dict[str, list[str]] = {}

    async def fetch(self, sql: str, params: Any) -> tuple[list[str], Sequence[tuple[Any, ...]]]:
        here = self._here()
        async with here.slots:
            conn = here.idle.pop() if here.idle else None
            try:
                async with asyncio.timeout(self._timeout):
                    conn = conn or await self._connect()
                    cursor = await conn.execute(sql, params)
                    rows = await cursor.fetchall()
                names = self._names.get(sql) or self._named(sql, cursor)
            except BaseException as error:
                if conn is not None:
                    _discard(conn)
                if isinstance(error, psycopg.OperationalError | TimeoutError):
                    _discard_all(here)  # the server is gone or stalled: so are they
                mapped = _as_sqlalchemy(error, sql, params)
                if mapped is error:
                    raise
                raise mapped from error
            here.idle.append(conn)
            return names, rows

    def _named(self, sql: str, cursor: psycopg.AsyncCursor[Any]) -> list[str]:
        """The statement's column names, kept: psycopg builds a Column object for each
        on every ``description`` (5% of the event loop's time at 500 reads a second)."""
        if len(self._names) >= _KEPT_NAMES:
            self._names.clear()  # shapes are few; a new generation's come after a rebuild
        names = self._names[sql] = [column.name for column in cursor.description or ()]
        return names

    async def aclose(self) -> None:
        """Close this loop's connections (the others' loops are gone or will close theirs)."""
        here = self._loops.pop(asyncio.get_running_loop(), None)
        for conn in here.idle if here is not None else ():
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    def _here(self) -> _LoopConnections:
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)
        if found is None:
            found = self._loops[loop] = _LoopConnections(asyncio.Semaphore(self._size))
        return found

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        # No server-side prepared statements, as on the engine's connections.
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, prepare_threshold=None
        )


def _discard_all(here: _LoopConnections) -> None:
    idle, here.idle = here.idle, []
    for conn in idle:
        _discard(conn)


def _discard(conn: psycopg.AsyncConnection[Any]) -> None:
    """Close without waiting: the socket goes at once, whatever the server's state."""
    with contextlib.suppress(Exception):
        conn.pgconn.finish()


def _as_sqlalchemy(error: BaseException, sql: str, params: Any) -> BaseException:
    """The driver's errors as SQLAlchemy's, as the thread's reads raise them (an outage:
    OperationalError, a 503); a read that took too long is one too."""
    if isinstance(error, psycopg.Error):
        return DBAPIError.instance(sql, params, error, psycopg.Error)
    if isinstance(error, TimeoutError):
        return OperationalError(sql, params, error)
    return error
