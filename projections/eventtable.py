"""The event store's own table, read by aggregate (a rebuild's fastest path).

The recorder's primary key is (originator_id, originator_version), so the
events of each ticket can be read together, in order, straight from the table
the log lives in: no copy, no staging. This reads eventsourcing's table layout
(``originator_id``, ``originator_version``, ``topic``, ``state``; the position
is SQLite's ``rowid`` and PostgreSQL's ``notification_id``) and is only used
when the log names its table; otherwise a rebuild stages the log first.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SCAN_CACHE_KIB = 32768
# aggregate (as stored: hex text on SQLite, a UUID on PostgreSQL), version, position,
# topic, state. The aggregate only groups rows; uuid.UUID(str(aggregate)) reads either.
ScanRow = tuple[Any, int, int, str, bytes]


class EventTable:
    def __init__(self, engine: Engine, name: str) -> None:
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"unexpected event table name {name!r}")
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self.name = name
        self._position = "rowid" if self._sqlite else "notification_id"

    @classmethod
    def of(cls, engine: Engine, log: object) -> EventTable | None:
        """The table behind ``log`` when it is an eventsourcing recorder in this database."""
        recorder = getattr(log, "recorder", None)
        name = getattr(recorder, "events_table_name", None)
        if not isinstance(name, str) or getattr(recorder, "schema_name", None):
            return None
        if engine.dialect.name == "sqlite":
            # SQLite keeps the log in a file of its own, beside the read models'.
            path = str(getattr(log, "sqlite_file", None) or "")
            if not path:
                return None
            if path != engine.url.database:
                engine = create_engine(f"sqlite+pysqlite:///{path}", poolclass=NullPool)
        return cls(engine, name)

    @property
    def url(self) -> str:
        """The database the table is in, for a worker process to open its own engine."""
        return self._engine.url.render_as_string(hide_password=False)

    def key_ranges(self, prefix_digits: int = 2) -> list[tuple[Any, Any]]:
        """Slices of the aggregate key space (uuid5 ids spread evenly): [lo, hi) pairs."""
        count = 16**prefix_digits
        bounds: list[Any] = [None]
        for prefix in range(1, count):
            bound = f"{prefix:0{prefix_digits}x}".ljust(32, "0")
            bounds.append(bound if self._sqlite else UUID(bound))
        bounds.append(None)
        return list(itertools.pairwise(bounds))

    def by_aggregate(
        self, up_to: int, page: int, key_range: tuple[Any, Any] = (None, None)
    ) -> Iterator[ScanRow]:
        """Every event at or before ``up_to``, by aggregate then version, a page at a time."""
        columns = f"originator_id, originator_version, {self._position}, topic, state"
        # On PostgreSQL, "+ 0" keeps the planner off the position index: it otherwise ANDs
        # in a bitmap of every position up to the head, a scan of that whole index for each
        # slice (three times the slice's own cost at 1,000,000 events).
        bound = self._position if self._sqlite else f"{self._position} + 0"
        where = f"{bound} <= {self._mark('up_to')}"
        lo, hi = key_range
        where += "" if lo is None else f" AND originator_id >= {self._mark('lo')}"
        where += "" if hi is None else f" AND originator_id < {self._mark('hi')}"
        order = f"ORDER BY originator_id, originator_version LIMIT {self._mark('page')}"
        first = f"SELECT {columns} FROM {self.name} WHERE {where} {order}"
        after_sql = (
            f"SELECT {columns} FROM {self.name} WHERE {where} AND (originator_id, "
            f"originator_version) > ({self._mark('aggregate')}, {self._mark('version')}) {order}"
        )
        after: dict[str, Any] | None = None
        with self._engine.connect() as conn:
            # The driver's own cursor: a rebuild reads every event once, and SQLAlchemy's
            # result rows cost more per row than the driver's tuples.
            driver: Any = conn.connection.dbapi_connection
            # On PostgreSQL, binary results: states arrive as bytes, not hex text to decode.
            cursor = driver.cursor() if self._sqlite else driver.cursor(binary=True)
            try:
                if self._sqlite:
                    # Rows come in key order, not table order: caching the table's
                    # interior pages turns most lookups into one leaf read.
                    cursor.execute(f"PRAGMA cache_size=-{SCAN_CACHE_KIB}")
                while True:
                    params = {"up_to": up_to, "page": page, "lo": lo, "hi": hi, **(after or {})}
                    cursor.execute(after_sql if after else first, params)
                    rows = cursor.fetchall()
                    driver.rollback()  # no snapshot held between pages
                    if not rows:
                        return
                    for aggregate, version, position, topic, state in rows:
                        yield aggregate, version, position, topic, bytes(state)
                    after = {"aggregate": rows[-1][0], "version": rows[-1][1]}
            finally:
                cursor.close()

    def _mark(self, name: str) -> str:
        return f":{name}" if self._sqlite else f"%({name})s"

    def with_topics(self, topics: Sequence[str], up_to: int) -> list[ScanRow]:
        """The events of the given topics at or before ``up_to``, in log order (a full scan)."""
        marks = ", ".join(f":t{i}" for i in range(len(topics)))
        sql = (
            f"SELECT originator_id, originator_version, {self._position}, topic, state "
            f"FROM {self.name} WHERE topic IN ({marks}) AND {self._position} <= :up_to "
            f"ORDER BY {self._position}"
        )
        params: dict[str, Any] = {f"t{i}": topic for i, topic in enumerate(topics)}
        with self._engine.connect() as conn:
            rows = conn.execute(text(sql), params | {"up_to": up_to}).all()
        return [(a, v, p, t, bytes(s)) for a, v, p, t, s in rows]
