"""The overview's compliance figures, computed in the background rather than per page.

The compliance report counts time-driven breaches clock by clock (every
running clock past its due instant), which on a large read model takes far
longer than a page may. The overview therefore shows the last report computed
for its window, with the instant it was decided at, and starts a fresh one in
a background thread once that report is older than ``max_age`` seconds. A page
waits at most ``wait`` seconds for a window's first report; past that it shows
a placeholder its script replaces once the report is ready. ``max_age`` 0
computes the report for every page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger("slaclock.ui")
T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    value: T | None = None
    computed_at: float = 0.0  # time.monotonic()
    refreshing: bool = False
    ready: threading.Event = field(default_factory=threading.Event)


class Recent(Generic[T]):
    """The latest value per key, recomputed in the background when older than ``max_age``."""

    def __init__(self, max_age: float, now: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._now = now
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry[T]] = {}

    def get(self, key: str, compute: Callable[[], T], wait: float = 1.0) -> T | None:
        """The latest value, or None when the first is still being computed after ``wait`` s."""
        if self.max_age <= 0:
            return compute()
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            due = not entry.ready.is_set() or self._now() - entry.computed_at > self.max_age
            start = due and not entry.refreshing
            entry.refreshing = entry.refreshing or start
        if start:
            threading.Thread(
                target=self._refresh, args=(entry, key, compute), name="ui-refresh", daemon=True
            ).start()
        entry.ready.wait(wait)
        return entry.value

    def _refresh(self, entry: _Entry[T], key: str, compute: Callable[[], T]) -> None:
        try:
            value = compute()
        except Exception:  # the next page retries; the older figures stay shown meanwhile
            log.exception("the dashboard could not compute %s", key)
            with self._lock:
                entry.refreshing = False
            return
        with self._lock:
            entry.value, entry.computed_at, entry.refreshing = value, self._now(), False
            entry.ready.set()
