"""Which version of a policy or calendar applies, and what was known when.

A first version is in effect from the beginning of time unless it names an
``effective_from``; each later version from its ``effective_from``, which
defaults to the instant it was recorded. At any instant the version in effect
is the one with the latest start at or before it (ties: the higher number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Version(Generic[T]):
    number: int
    effective_from: datetime | None  # None: from the beginning of time
    recorded_at: datetime
    value: T

    @property
    def starts(self) -> tuple[int, float, int]:
        """Sort key: the beginning of time first, then by instant, then by number."""
        if self.effective_from is None:
            return (0, 0.0, self.number)
        return (1, self.effective_from.timestamp(), self.number)


def effective_start(number: int, given: datetime | None, recorded_at: datetime) -> datetime | None:
    if given is not None:
        return given
    return None if number == 1 else recorded_at


def known_at(versions: Sequence[Version[T]], instant: datetime | None) -> list[Version[T]]:
    """The versions recorded at or before ``instant`` (all of them when it is None)."""
    if instant is None:
        return list(versions)
    return [v for v in versions if v.recorded_at <= instant]


def in_effect_order(versions: Sequence[Version[T]]) -> list[Version[T]]:
    return sorted(versions, key=lambda v: v.starts)


def in_effect_at(versions: Sequence[Version[T]], instant: datetime) -> Version[T] | None:
    """The version in effect at ``instant``, or None when none had started."""
    if len(versions) == 1:  # the common case, on the ingest hot path
        only = versions[0]
        return only if only.effective_from is None or only.effective_from <= instant else None
    started = [v for v in versions if v.effective_from is None or v.effective_from <= instant]
    return max(started, key=lambda v: v.starts) if started else None
