"""Listings read the live generation, though they ask on the one the last read found."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import Engine

from projections.reads.queries import BreachFilters, ProjectionReader, TicketFilters
from projections.schema import create_generation, drop_generation
from projections.tracking import ensure_schema, set_live_generation, write_transaction
from service.storage.async_reads import AsyncReads
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore
from tests.conftest import temporary_database
from tests.integration.test_projection_core import follow
from tests.integration.test_projection_support import T0, LogWriter, database

NOW = T0 + timedelta(days=30)  # every clock of an open ticket is breached by then


def _listed(reader: ProjectionReader) -> list[str]:
    return [item["ticket_id"] for item in reader.tickets(TicketFilters(), 10, None).items]


def _breached(reader: ProjectionReader) -> list[str]:
    page = reader.breaches(BreachFilters(state="breached"), 10, None)
    return sorted({item["ticket_id"] for item in page.items})


def _two_generations(store: EventStore, engine: Engine) -> None:
    """Generation 1 with A-1 and A-2; generation 9 with A-1 only."""
    writer = LogWriter(store)
    writer.calendar("office")
    writer.policy("gold")
    writer.opened("A-1", T0 + timedelta(minutes=5), priority="P2")
    ensure_schema(engine)
    with engine.connect() as conn, write_transaction(conn):
        create_generation(conn, 9)
    follow(engine, store, 500, generation=9)
    writer.opened("A-2", T0 + timedelta(minutes=6), priority="P2")
    follow(engine, store, 500)


def _live(engine: Engine, generation: int) -> None:
    with engine.connect() as conn, write_transaction(conn):
        set_live_generation(conn, generation)


def test_a_switch_to_a_generation_whose_tables_are_kept_is_read_at_once(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        _two_generations(store, engine)
        reader = ProjectionReader(engine, lambda: NOW)
        assert _listed(reader) == ["A-1", "A-2"]
        assert _breached(reader) == ["A-1", "A-2"]
        _live(engine, 9)  # generation 1's tables stay, with rows no longer live
        assert _listed(reader) == ["A-1"]
        assert _breached(reader) == ["A-1"]
        _live(engine, 1)
        assert _breached(reader) == ["A-1", "A-2"]
        assert _listed(reader) == ["A-1", "A-2"]


def test_a_switch_that_dropped_the_last_read_generation_is_read_afresh(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        _two_generations(store, engine)
        reader = ProjectionReader(engine, lambda: datetime.now(UTC))
        _live(engine, 9)
        assert _listed(reader) == ["A-1"]
        with engine.connect() as conn, write_transaction(conn):
            set_live_generation(conn, 1)
            drop_generation(conn, 9)
        assert _listed(reader) == ["A-1", "A-2"]
        assert _listed(reader) == ["A-1", "A-2"]


@pytest.mark.postgres
def test_awaited_reads_follow_switches_as_the_threads_do(postgres_url: str) -> None:
    with temporary_database(postgres_url) as url, database(url) as (store, engine):
        _two_generations(store, engine)
        reads = AsyncReads(DatabaseConfig.parse(url), timeout=5.0)
        reader = ProjectionReader(engine, lambda: NOW, reads)
        assert _listed(reader) == ["A-1", "A-2"]  # the first read finds the schema
        assert reader.awaits_reads

        async def listed() -> list[str]:
            page = await reader.tickets_async(TicketFilters(), 10, None)
            return [item["ticket_id"] for item in page.items]

        async def breached() -> list[str]:
            page = await reader.breaches_async(BreachFilters(state="breached"), 10, None)
            return sorted({item["ticket_id"] for item in page.items})

        async def scenario() -> None:
            assert await listed() == ["A-1", "A-2"]
            assert await breached() == ["A-1", "A-2"]
            _live(engine, 9)
            assert await listed() == ["A-1"]
            assert await breached() == ["A-1"]
            with engine.connect() as conn, write_transaction(conn):
                set_live_generation(conn, 1)
                drop_generation(conn, 9)
            assert await breached() == ["A-1", "A-2"]
            assert await listed() == ["A-1", "A-2"]
            await reads.aclose()

        asyncio.run(scenario())


@pytest.mark.postgres
def test_an_awaited_read_on_a_lost_connection_is_tried_again_on_a_new_one(
    postgres_url: str,
) -> None:
    with temporary_database(postgres_url) as url, database(url) as (store, engine):
        _two_generations(store, engine)
        reads = AsyncReads(DatabaseConfig.parse(url), timeout=5.0)
        reader = ProjectionReader(engine, lambda: NOW, reads)
        assert _listed(reader) == ["A-1", "A-2"]

        async def listed() -> list[str]:
            page = await reader.tickets_async(TicketFilters(), 10, None)
            return [item["ticket_id"] for item in page.items]

        async def backend() -> object:
            return (await reads.fetch("SELECT pg_backend_pid()", ()))[1][0][0]

        async def scenario() -> None:
            assert await listed() == ["A-1", "A-2"]
            before = await backend()
            with psycopg.connect(DatabaseConfig.parse(url).conninfo, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            assert await listed() == ["A-1", "A-2"]  # the first try failed, the second did not
            assert await backend() != before
            await reads.aclose()

        asyncio.run(scenario())
