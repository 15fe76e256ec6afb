"""A follower that reads ahead (``slaclock project`` on PostgreSQL) writes what a rebuild writes.

While a full batch of ticket events is written, a thread reads the next batch
and, if every ticket in it opens there, evaluates it; the next step writes that
evaluation. Any other batch (later events of known tickets, a policy version)
is evaluated in the step as before. On SQLite the option is ignored.
"""

from __future__ import annotations

from datetime import timedelta

from projections.follower import Follower
from projections.rebuild import rebuild
from projections.tracking import ensure_schema
from service.storage.database import DatabaseConfig
from service.storage.eventstore import EventStore
from tests.integration.test_projection_support import T0, LogWriter, database, snapshot

MINUTE = timedelta(minutes=1)


class RecordingStore(EventStore):
    """The event store, noting where each read of stored records starts."""

    reads_from: list[int]

    def read_records_after(self, position: int, limit: int) -> list[tuple[object, ...]]:
        self.reads_from.append(position)
        return list(super().read_records_after(position, limit))


def test_a_follower_reading_ahead_writes_what_a_rebuild_writes(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")  # positions 1 and 2: versions, never read ahead of
        for i in range(6):
            writer.opened(f"A-{i}", T0 + i * MINUTE, priority="P2")
        for i in range(2):  # known tickets: evaluated in their step, with their rows read
            writer.event(f"A-{i}", "responded", T0 + (10 + i) * MINUTE)
        writer.policy("gold", effective_from=T0 + timedelta(days=1))
        for i in range(4):
            writer.opened(f"B-{i}", T0 + timedelta(days=2) + i * MINUTE, customer="acme")
        recording = RecordingStore(DatabaseConfig.parse(database_url))
        recording.reads_from = []
        ensure_schema(engine)
        follower = Follower(engine, recording, read_ahead=True)
        try:
            assert follower.step(2) == 2  # the versions
            assert follower.step(2) == 2  # the batch after them is read meanwhile
            reads_after_second_step = list(recording.reads_from)
            while follower.step(2):
                pass
        finally:
            follower.close()
            recording.close()
        on_postgres = not database_url.startswith("sqlite")
        assert (4 in reads_after_second_step) == on_postgres, reads_after_second_step
        # Each batch read once: the batches read ahead were the ones written.
        assert len(recording.reads_from) == len(set(recording.reads_from)), recording.reads_from
        followed = snapshot(engine)
        rebuild(engine, store, grace_seconds=0)
        assert snapshot(engine) == followed
