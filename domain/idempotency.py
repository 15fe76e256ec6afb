"""Idempotent retries, the same for every aggregate: an event id names one body for ever."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import Conflict


@dataclass(frozen=True)
class Duplicate:
    """A retry of an event already recorded at ``version``."""

    version: int


def retry_of(
    recorded: Mapping[str, tuple[str, int]], event_id: str, fingerprint: str
) -> Duplicate | None:
    """A retry with the same body is answered with the first answer; another body is a conflict.

    ``recorded`` maps each recorded event id to its body's fingerprint and version.
    """
    seen = recorded.get(event_id)
    if seen is None:
        return None
    first_fingerprint, version = seen
    if first_fingerprint != fingerprint:
        raise Conflict(f"event_id {event_id!r} was already used with a different body")
    return Duplicate(version)
