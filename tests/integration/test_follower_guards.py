"""A live step commits only into the live generation, and only from its own position.

Each step's transaction checks both: a switch to a rebuilt generation, or another
follower that moved the position, makes the step apply nothing and reload.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from projections.follower import Follower
from projections.schema import create_generation, tables_for
from projections.tracking import (
    ensure_schema,
    read_position,
    set_live_generation,
    write_transaction,
)
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import T0, LogWriter, database


def _log(store: EventStore, tickets: int) -> int:
    writer = LogWriter(store)
    writer.calendar("office")
    writer.policy("gold")
    last = 0
    for i in range(tickets):
        last = writer.opened(f"G-{i}", T0 + timedelta(minutes=i), priority="P2")
    return last


def _position(engine: Engine, generation: int) -> int:
    with engine.connect() as conn:
        return read_position(conn, tables_for(generation))


def test_a_step_after_a_switch_applies_nothing_and_follows_the_new_generation(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        last = _log(store, 4)
        ensure_schema(engine)
        follower = Follower(engine, store)
        try:
            assert follower.step(3) == 3
            with engine.connect() as conn, write_transaction(conn):
                create_generation(conn, 9)
                set_live_generation(conn, 9)
            assert follower.step(100) == 0  # the generation changed under it
            assert _position(engine, 1) == 3
            assert _position(engine, 9) == 0
            while follower.step(100):
                pass
        finally:
            follower.close()
        assert (_position(engine, 1), _position(engine, 9)) == (3, last)


def test_a_step_from_a_position_another_follower_moved_applies_nothing(
    database_url: str,
) -> None:
    with database(database_url) as (store, engine):
        last = _log(store, 4)
        ensure_schema(engine)
        first, second = Follower(engine, store), Follower(engine, store)
        try:
            assert second.tables.generation == 1  # loaded at position 0
            assert first.step(3) == 3
            assert second.step(2) == 0  # its position 0 is no longer the tracked one
            assert _position(engine, 1) == 3
            while second.step(100):
                pass
        finally:
            first.close()
            second.close()
        assert _position(engine, 1) == last
