"""Fewer, cheaper garbage collections for slaclock's long-running processes.

With Python's default thresholds (700, 10, 10) each 700 net allocations start a
young collection, and full ones walk every long-lived object (the writer's
ticket heads, caches, the projections' catalogue) again and again as they grow.
In the server, single-event ingest's p99 was 111 ms against 15 ms without them
(benchmarks/ingest.py, SQLite). In the projection processes, whose steps
allocate hundreds of thousands of tuples, dicts and lists that live until
their write, the collector was about a sixth of the live follower's time on new
tickets, and the follower ran 18 to 23% faster without it (docs/projections.md,
"Session 17"). Freezing what start-up built and collecting the young generation
every 50,000 allocations keeps cycles collected at a fraction of the cost.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def collect_less_often() -> None:
    """Call once a process has started (a spawned child starts with the defaults)."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
