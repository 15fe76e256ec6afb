"""The overview's compliance figures, re-read in the background rather than per page.

The compliance report counts time-driven breaches clock by clock (every
running clock past its due instant), which on a large read model takes far
longer than a page may. The overview therefore shows the last report computed
for its window, with the instant it was decided at, and starts a fresh one in
a background thread once that report is older than ``max_age`` seconds: no
page waits for it but the very first of each window. ``max_age`` 0 computes
the report for every page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("slaclock.ui")
T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    value: T
    computed_at: float  # time.monotonic()
    refreshing: bool = False


class Recent(Generic[T]):
    """The latest value per key, recomputed in the background when older than ``max_age``."""

    def __init__(self, max_age: float, now: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._now = now
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry[T]] = {}

    def get(self, key: str, compute: Callable[[], T]) -> T:
        if self.max_age <= 0:
            return compute()
        with self._lock:
            entry = self._entries.get(key)
            stale = entry is not None and self._now() - entry.computed_at > self.max_age
            start = stale and entry is not None and not entry.refreshing
            if start and entry is not None:
                entry.refreshing = True
        if entry is None:
            value = compute()
            with self._lock:
                self._entries[key] = _Entry(value, self._now())
            return value
        if start:
            threading.Thread(
                target=self._refresh, args=(key, compute), name="ui-refresh", daemon=True
            ).start()
        return entry.value

    def _refresh(self, key: str, compute: Callable[[], T]) -> None:
        try:
            value = compute()
        except Exception:  # the next page retries; the stale figures stay shown meanwhile
            log.exception("the dashboard could not refresh %s", key)
            with self._lock:
                self._entries[key].refreshing = False
            return
        with self._lock:
            self._entries[key] = _Entry(value, self._now())
