"""eventsourcing's PostgreSQL factory, connected with the whole SLA_DATABASE_URL.

The library's datastore builds its psycopg pool from separate dbname, host,
port, user and password settings, which lose query parameters (``sslmode``!),
socket directories and multi-host lists. This factory keeps everything else of
the library's datastore and gives it a pool built from the URL itself.

The pool also reconnects promptly: psycopg_pool backs off 1, 2, 4, 8, 16 s...
between attempts, so after a long outage the service came back up to ~18 s after
the database did. Here the wait between attempts is capped at half a second.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import ConnectionPool, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg.rows import dict_row
from psycopg_pool.base import AttemptWithBackoff

RECONNECT_DELAY_SECONDS = 0.25
RECONNECT_DELAY_MAX_SECONDS = 0.5
CONNINFO = "SLACLOCK_POSTGRES_CONNINFO"
CONNECT_DEFAULTS = "SLACLOCK_POSTGRES_CONNECT_DEFAULTS"


class _PromptAttempt(AttemptWithBackoff):
    INITIAL_DELAY = RECONNECT_DELAY_SECONDS

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_DELAY_MAX_SECONDS)


class PromptReconnectPool(ConnectionPool[Any]):
    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        if attempt is None:
            attempt = _PromptAttempt(timeout=self.reconnect_timeout)
        super()._add_connection(attempt, growing=growing)


class SlaclockPostgresFactory(PostgresFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        conninfo = self.env.get(CONNINFO)
        if not conninfo:
            raise OSError(f"{CONNINFO} is not set")
        defaults = dict(
            item.split("=", 1) for item in (self.env.get(CONNECT_DEFAULTS) or "").split() if item
        )
        template = self.datastore.pool
        # The library's pool was never opened: replacing it opens no connection.
        self.datastore.pool = PromptReconnectPool(
            conninfo,
            connection_class=template.connection_class,
            kwargs={**defaults, "row_factory": dict_row},
            min_size=template.min_size,
            max_size=template.max_size,
            open=False,
            configure=self.datastore.after_connect_func(),
            timeout=template.timeout,
            max_waiting=template.max_waiting,
            max_lifetime=template.max_lifetime,
            check=template._check,
        )
        template.close()
