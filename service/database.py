"""Turn SLA_DATABASE_URL into what eventsourcing and SQLAlchemy each want."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool


class UnsupportedDatabase(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    kind: str  # "sqlite" or "postgres"
    sqlite_path: Path | None = None
    pg_host: str = ""
    pg_port: int = 5432
    pg_user: str = ""
    pg_password: str = ""
    pg_dbname: str = ""

    @classmethod
    def parse(cls, url: str) -> DatabaseConfig:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme == "sqlite":
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if not path or path == ":memory:":
                raise UnsupportedDatabase("SLA_DATABASE_URL must name a SQLite file")
            return cls(url=url, kind="sqlite", sqlite_path=Path(path))
        if scheme in {"postgresql", "postgres"}:
            return cls(
                url=url,
                kind="postgres",
                pg_host=parts.hostname or "127.0.0.1",
                pg_port=parts.port or 5432,
                pg_user=unquote(parts.username or "postgres"),
                pg_password=unquote(parts.password or ""),
                pg_dbname=parts.path.lstrip("/") or "postgres",
            )
        raise UnsupportedDatabase(f"unsupported database URL scheme {parts.scheme!r}")

    def eventsourcing_env(self) -> dict[str, str]:
        if self.kind == "sqlite":
            assert self.sqlite_path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.pg_dbname,
            "POSTGRES_HOST": self.pg_host,
            "POSTGRES_PORT": str(self.pg_port),
            "POSTGRES_USER": self.pg_user,
            "POSTGRES_PASSWORD": self.pg_password,
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "20",
            "POSTGRES_LOCK_TIMEOUT": "5",
        }

    def sqlalchemy_url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite+pysqlite:///{self.sqlite_path}"
        auth = self.pg_user + (f":{self.pg_password}" if self.pg_password else "")
        return f"postgresql+psycopg://{auth}@{self.pg_host}:{self.pg_port}/{self.pg_dbname}"

    def ensure_directory(self) -> None:
        if self.sqlite_path is not None:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets readers run beside the single writer; FULL keeps commits durable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sql_engine(config: DatabaseConfig) -> Engine:
    """The SQLAlchemy engine for read models and tokens, in the same database as the events."""
    config.ensure_directory()
    if config.kind == "sqlite":
        engine = create_engine(config.sqlalchemy_url(), poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(config.sqlalchemy_url(), pool_size=10, max_overflow=20, pool_pre_ping=True)
