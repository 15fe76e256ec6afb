"""SLA_DATABASE_URL reaches libpq unchanged: parameters, encoded secrets, sockets, host lists."""

from __future__ import annotations

import pytest
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict

from service.storage.database import DatabaseConfig, UnsupportedDatabase
from service.storage.pgstore import SlaclockPostgresFactory


def libpq(url: str) -> dict[str, object]:
    return conninfo_to_dict(DatabaseConfig.parse(url).conninfo)


def test_query_parameters_are_kept() -> None:
    given = libpq("postgresql://app@db.example:6432/sla?sslmode=require&application_name=sla")
    assert given == {
        "user": "app",
        "host": "db.example",
        "port": "6432",
        "dbname": "sla",
        "sslmode": "require",
        "application_name": "sla",
    }


def test_a_percent_encoded_password_is_decoded_once_and_never_shown() -> None:
    url = "postgresql+psycopg://app:p%40ss%3Aw%2Frd@db.example/sla"
    config = DatabaseConfig.parse(url)
    assert conninfo_to_dict(config.conninfo)["password"] == "p@ss:w/rd"
    assert "p@ss" not in config.describe()
    assert "p%40ss" not in config.describe()
    assert config.describe() == "postgresql host=db.example dbname=sla user=app"


def test_a_socket_directory_is_kept() -> None:
    assert libpq("postgresql:///sla?host=/var/run/postgresql") == {
        "dbname": "sla",
        "host": "/var/run/postgresql",
    }


def test_a_multi_host_url_is_kept() -> None:
    given = libpq("postgresql://app@h1:5432,h2:5433/sla?target_session_attrs=read-write")
    assert given["host"] == "h1,h2"
    assert given["port"] == "5432,5433"
    assert given["target_session_attrs"] == "read-write"


def test_outage_timeouts_are_added_only_where_the_url_is_silent() -> None:
    silent = DatabaseConfig.parse("postgresql://app@h/sla")
    assert silent.connection_defaults()["connect_timeout"] == "2"
    explicit = DatabaseConfig.parse("postgresql://app@h/sla?connect_timeout=7&keepalives=0")
    defaults = explicit.connection_defaults()
    assert "connect_timeout" not in defaults
    assert "keepalives" not in defaults


def test_the_event_store_pool_gets_the_whole_url() -> None:
    url = "postgresql://app:p%40ss@h1:5432,h2:5432/sla?sslmode=require&target_session_attrs=any"
    config = DatabaseConfig.parse(url)
    factory = SlaclockPostgresFactory(Environment("slaclock", config.eventsourcing_env()))
    try:
        pool = factory.datastore.pool
        assert pool.conninfo == url
        assert isinstance(pool.kwargs, dict)
        assert pool.kwargs["connect_timeout"] == "2"
        assert not {"host", "dbname", "user", "password", "port"} & pool.kwargs.keys()
    finally:
        factory.close()


@pytest.mark.parametrize(
    "url", ["mysql://h/db", "sqlite:///:memory:", "postgresql://h/db?not a param"]
)
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabase):
        DatabaseConfig.parse(url)


def test_the_sqlalchemy_url_carries_the_same_parameters() -> None:
    url = "postgresql://app:p%40ss@h1:5432,h2:5433/sla?sslmode=require&connect_timeout=5"
    engine_url = DatabaseConfig.parse(url).sqlalchemy_url()
    assert engine_url.drivername == "postgresql+psycopg"
    assert (engine_url.username, engine_url.password, engine_url.database) == ("app", "p@ss", "sla")
    assert engine_url.query["host"] == "h1,h2"
    assert engine_url.query["port"] == "5432,5433"
    assert engine_url.query["sslmode"] == "require"
    assert engine_url.query["connect_timeout"] == "5"
