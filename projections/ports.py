"""What the projections need from the outside world, as small protocols."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from eventsourcing.domain import DomainEvent


class EventLog(Protocol):
    """The event log, read in global order (service.storage.eventstore.EventStore fits it)."""

    def read_after(self, position: int, limit: int) -> Sequence[tuple[int, DomainEvent]]:
        """Up to ``limit`` decoded events after ``position``, in ascending position."""
        ...

    def max_position(self) -> int:
        """The highest position written so far (0 for an empty log)."""
        ...


Now = Callable[[], datetime]
"""Gives the current instant (UTC, aware); tests pass a fixed one."""


class StoredRecord(Protocol):
    """One stored event as the recorder returns it (eventsourcing's Notification)."""

    @property
    def id(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...
    @property
    def originator_version(self) -> int: ...


@runtime_checkable
class RawEventLog(EventLog, Protocol):
    """A log that also hands out undecoded records (a rebuild decodes ticket events itself)."""

    def read_notifications_after(self, position: int, limit: int) -> Sequence[Any]: ...

    def decode(self, stored: Any) -> DomainEvent: ...


@runtime_checkable
class RecordLog(EventLog, Protocol):
    """A log that hands out its records as plain tuples (the projection follower's read)."""

    def read_records_after(self, position: int, limit: int) -> Sequence[tuple[Any, ...]]:
        """Up to ``limit`` (position, originator id, version, topic, state) after ``position``."""
        ...

    def decode(self, stored: Any) -> DomainEvent: ...


class WalCheckpoints(Protocol):
    """Checkpoints a SQLite database's WAL on another thread (service.storage.checkpointer).

    With one, the follower's commits leave the copy back to it: a commit that
    crossed SQLite's automatic bound did the copy and its fsync itself, which made
    about one small batch in a hundred take 10-20 ms instead of 1-2 ms, and a
    ``min_position`` read wait for it.
    """

    bound_pages: int  # the follower's own wal_autocheckpoint, should the thread fall behind

    def nudge(self, position: int) -> None:
        """Called after each committed batch with the position it reached."""
        ...
