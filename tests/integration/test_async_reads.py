"""The event loop's own PostgreSQL connections for listing reads (async_reads)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from service.storage.async_reads import AsyncReads
from service.storage.database import DatabaseConfig
from tests.conftest import temporary_database

pytestmark = pytest.mark.postgres

PID = "SELECT pg_backend_pid()"


@pytest.fixture
def url(postgres_url: str) -> Iterator[str]:
    with temporary_database(postgres_url) as found:
        yield found


def _reads(url: str, *, timeout: float = 5.0, size: int = 8) -> AsyncReads:
    return AsyncReads(DatabaseConfig.parse(url), timeout=timeout, size=size)


async def _pid(reads: AsyncReads) -> int:
    names, rows = await reads.fetch(PID, ())
    assert names == ["pg_backend_pid"]
    return int(rows[0][0])


def _terminate(url: str, pid: int) -> None:
    with psycopg.connect(DatabaseConfig.parse(url).conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_read_gives_names_and_rows_and_its_connection_serves_the_next(url: str) -> None:
    async def scenario() -> None:
        reads = _reads(url)
        names, rows = await reads.fetch("SELECT %s::int AS a, %s::text AS b", (7, "x"))
        assert (names, list(rows)) == (["a", "b"], [(7, "x")])
        first = await _pid(reads)
        assert await _pid(reads) == first
        again = await reads.fetch("SELECT %s::int AS a, %s::text AS b", (8, "y"))
        assert (again[0], list(again[1])) == (["a", "b"], [(8, "y")])  # names kept per statement
        # Autocommit: nothing is left open between reads.
        _, status = await reads.fetch(
            "SELECT count(*) FROM pg_stat_activity WHERE state = %s", ("idle in transaction",)
        )
        assert status[0][0] == 0
        await reads.aclose()

    asyncio.run(scenario())


def test_reads_at_once_share_at_most_size_connections(url: str) -> None:
    async def scenario() -> None:
        reads = _reads(url, size=2)
        pids = await asyncio.gather(
            *(reads.fetch("SELECT pg_backend_pid(), pg_sleep(0.05)", ()) for _ in range(6))
        )
        assert len({rows[0][0] for _, rows in pids}) == 2
        await reads.aclose()

    asyncio.run(scenario())


def test_a_lost_connection_fails_its_read_then_the_next_read_connects_again(url: str) -> None:
    async def scenario() -> None:
        reads = _reads(url)
        spare = await asyncio.gather(*(_pid(reads) for _ in range(3)))  # idle ones to lose too
        pid = await _pid(reads)
        for lost in {pid, *spare}:
            _terminate(url, lost)
        with pytest.raises(OperationalError):
            await reads.fetch(PID, ())
        # The idle ones went with the failed one: the next read is on a new connection.
        assert await _pid(reads) not in {pid, *spare}
        await reads.aclose()

    asyncio.run(scenario())


def test_a_read_that_takes_too_long_fails_as_an_outage_and_its_connection_is_dropped(
    url: str,
) -> None:
    async def scenario() -> None:
        reads = _reads(url, timeout=0.2)
        pid = await _pid(reads)
        with pytest.raises(OperationalError):
            await reads.fetch("SELECT pg_sleep(2)", ())
        assert await _pid(reads) != pid
        await reads.aclose()

    asyncio.run(scenario())


def test_a_bad_statement_fails_as_sqlalchemys_error_and_costs_only_its_connection(
    url: str,
) -> None:
    async def scenario() -> None:
        reads = _reads(url)
        kept = await asyncio.gather(*(_pid(reads) for _ in range(2)))
        with pytest.raises(ProgrammingError):
            await reads.fetch("SELECT * FROM no_such_table", ())
        # The connection that raised is closed; the other idle one is still used.
        assert await _pid(reads) in kept
        await reads.aclose()

    asyncio.run(scenario())


def test_aclose_closes_the_loops_connections(url: str) -> None:
    async def scenario() -> int:
        reads = _reads(url)
        pid = await _pid(reads)
        await reads.aclose()
        return pid

    pid = asyncio.run(scenario())
    with psycopg.connect(DatabaseConfig.parse(url).conninfo, autocommit=True) as conn:
        for _ in range(50):  # the backend exits just after the client's goodbye
            found = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if found.fetchone() is None:
                return
            conn.execute("SELECT pg_sleep(0.02)")
    raise AssertionError(f"backend {pid} still there after aclose")
