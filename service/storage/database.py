"""Turn SLA_DATABASE_URL into what eventsourcing, psycopg and SQLAlchemy each want.

A PostgreSQL URL is handed to libpq as it was given: every query parameter
(``sslmode``, ``application_name``, ``target_session_attrs``...), percent-encoded
credentials, a socket directory (``?host=/var/run/postgresql``) and a multi-host
list (``h1:5432,h2:5432``) reach the driver unchanged. Only the timeouts that
keep an outage from hanging the service are added, and only where the URL does
not set them itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import QueuePool

from service.storage.statefile import move_state_tables, state_path


class UnsupportedDatabase(ValueError):
    pass


# libpq's own minimum; the circuit (service/storage/store_circuit.py) answers clients sooner.
CONNECT_TIMEOUT_SECONDS = 2
# A peer that vanished without a word is noticed in about 10 s, not the kernel's hours.
_CONNECTION_DEFAULTS: Mapping[str, str] = {
    "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}
# Seconds a request waits for a pooled connection before the pool gives up.
POOL_TIMEOUT_SECONDS = 1
# Kept SQLite connections: as many as the server's threads that read at once, and the
# overflow closed again; a file connection costs a descriptor, not a server process.
SQLITE_POOL_SIZE = 8
SQLITE_POOL_OVERFLOW = 56
SQLITE_POOL_TIMEOUT_SECONDS = 30
# PostgreSQL connections are all kept, none opened for a burst and closed after it: a
# connection costs the server a process start and a login (several ms of CPU), and
# with 10 kept and 20 more opened as needed, 32 clients reading their writes
# reopened them all the time (read-your-writes: 161-166 writes/s, p99 275-290 ms;
# all kept: 220-259 writes/s, p99 171-204 ms, in one sitting).
POSTGRES_POOL_SIZE = 30


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    kind: str  # "sqlite" or "postgres"
    sqlite_path: Path | None = None

    @classmethod
    def parse(cls, url: str) -> DatabaseConfig:
        scheme = urlsplit(url).scheme.split("+", 1)[0]
        if scheme == "sqlite":
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if not path or path == ":memory:":
                raise UnsupportedDatabase("SLA_DATABASE_URL must name a SQLite file")
            return cls(url=url, kind="sqlite", sqlite_path=Path(path))
        if scheme in {"postgresql", "postgres"}:
            config = cls(url=url, kind="postgres")
            try:
                conninfo_to_dict(config.conninfo)
            except psycopg.Error as error:
                raise UnsupportedDatabase(
                    f"SLA_DATABASE_URL is not a valid libpq URL: {error}"
                ) from error
            return config
        raise UnsupportedDatabase(f"unsupported database URL scheme {scheme!r}")

    @property
    def conninfo(self) -> str:
        """The URL as libpq reads it: only SQLAlchemy's ``+driver`` suffix is dropped."""
        scheme, rest = self.url.split("://", 1)
        return f"{scheme.split('+', 1)[0]}://{rest}"

    def connection_defaults(self) -> dict[str, str]:
        """The outage timeouts, for each one the URL leaves unset (the URL wins)."""
        given = conninfo_to_dict(self.conninfo)
        return {k: v for k, v in _CONNECTION_DEFAULTS.items() if k not in given}

    def describe(self) -> str:
        """The database, for logs: never the password."""
        if self.sqlite_path is not None:
            return f"sqlite {self.sqlite_path}"
        given = conninfo_to_dict(self.conninfo)
        shown = [f"{k}={given[k]}" for k in ("host", "port", "dbname", "user") if k in given]
        return " ".join(["postgresql", *shown])

    def eventsourcing_env(self) -> dict[str, str]:
        if self.kind == "sqlite":
            assert self.sqlite_path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        # service/storage/pgstore.py hands the pool the whole conninfo; the library's own
        # dbname/host/user settings are placeholders it requires but never uses.
        return {
            "PERSISTENCE_MODULE": "service.storage.pgstore:SlaclockPostgresFactory",
            "POSTGRES_DBNAME": "-",
            "POSTGRES_HOST": "-",
            "POSTGRES_USER": "-",
            "POSTGRES_PASSWORD": "",
            "POSTGRES_CONNECT_TIMEOUT": str(POOL_TIMEOUT_SECONDS),
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "20",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "SLACLOCK_POSTGRES_CONNINFO": self.conninfo,
            "SLACLOCK_POSTGRES_CONNECT_DEFAULTS": " ".join(
                f"{k}={v}" for k, v in self.connection_defaults().items()
            ),
        }

    def connect_postgres(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new psycopg connection from the whole URL, with the outage defaults."""
        return psycopg.connect(self.conninfo, **{**self.connection_defaults(), **kwargs})

    def sqlalchemy_url(self) -> URL:
        """The same libpq parameters as a SQLAlchemy URL (for processes that rebuild an engine).

        Host and port go in the query string, where libpq's comma lists (several hosts)
        and socket directories survive; the outage defaults are included.
        """
        parsed = {**self.connection_defaults(), **conninfo_to_dict(self.conninfo)}
        given = {k: str(v) for k, v in parsed.items()}
        named = {k: given.pop(k, None) for k in ("user", "password", "dbname")}
        return URL.create(
            "postgresql+psycopg",
            username=named["user"],
            password=named["password"],
            database=named["dbname"],
            query=given,
        )

    @property
    def state_path(self) -> Path | None:
        """SQLite: the file of every table but the log's (service/storage/statefile.py)."""
        return None if self.sqlite_path is None else state_path(self.sqlite_path)

    def ensure_directory(self) -> None:
        if self.sqlite_path is not None:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)


def _drop_read_only_connection(context: ExceptionContext) -> None:
    """A write refused as read-only ends its connection's life in the pool.

    SQLite opens a file it may not write read-only, silently, and such a connection
    refuses every write for good: kept, it answered 503 after the file was writable
    again. Counted as a disconnect, it is closed and the pool opens a fresh one.
    """
    error = context.original_exception
    if isinstance(error, sqlite3.OperationalError) and (
        error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_READONLY
    ):
        context.is_disconnect = True


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; FULL keeps commits durable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def bind_none_directly() -> None:
    """Let Python's sqlite3 bind None as NULL at once, for every SQLite connection of the process.

    It binds an int, a float or a str straight away, but looks for an adapter for
    anything else, None included: a key tuple, a registry lookup, then the
    ``__adapt__`` and ``__conform__`` attribute lookups, about 0.15 µs a None
    more than when the registry holds one. A new ticket's rows carry some ten
    Nones (a running clock has no breach or stop instant). The registered
    adapter, a dict's ``get`` (C code, no Python frame), returns None, which is
    then bound as NULL as before. Idempotent.
    """
    sqlite3.register_adapter(type(None), _NOTHING.get)


_NOTHING: dict[object, None] = {}


def create_sql_engine(config: DatabaseConfig) -> Engine:
    """The SQLAlchemy engine for read models, tokens and webhooks.

    On PostgreSQL it is the events' database; on SQLite the state file beside the
    log's, where a database made before the split has its tables moved first.
    """
    config.ensure_directory()
    if config.sqlite_path is not None and config.state_path is not None:
        bind_none_directly()
        move_state_tables(config.sqlite_path, config.state_path)
        # Connections are kept: opening one (with its pragmas) cost 0.6 ms, more than
        # the read it served (a one-ticket listing: 1.1 ms in all, 0.5 ms pooled).
        engine = create_engine(
            f"sqlite+pysqlite:///{config.state_path}",
            poolclass=QueuePool,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_OVERFLOW,
            pool_timeout=SQLITE_POOL_TIMEOUT_SECONDS,
            connect_args={"check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _drop_read_only_connection)
        return engine
    # The creator passes the URL to libpq untouched (SQLAlchemy would not parse a
    # multi-host list); the engine's URL says the same for whoever reads it.
    return create_engine(
        config.sqlalchemy_url(),
        # No server-side prepared statements: a generic plan made while a read-model
        # table was nearly empty (a scan of the whole table for a key list) stayed in
        # use after the table grew, until autovacuum's ANALYZE: the live projection
        # then spent a second per batch on one keyed read (500 events/s behind a burst).
        creator=partial(config.connect_postgres, prepare_threshold=None),
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=0,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
    )
