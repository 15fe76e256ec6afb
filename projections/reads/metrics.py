"""Projection health in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_METRICS = (
    ("position", "gauge", "Last log position the live projection committed."),
    ("head", "gauge", "Highest position in the event log."),
    ("lag_events", "gauge", "Events in the log not yet projected."),
    ("lag_seconds", "gauge", "Seconds the oldest event not yet projected has waited."),
    ("generation", "gauge", "Table generation readers use (changes on rebuild)."),
    ("running", "gauge", "1 when this process runs a projection worker."),
    ("active", "gauge", "1 when this process's worker holds the lock (0: standing by)."),
    ("events_total", "counter", "Events this process has projected."),
    ("errors_total", "counter", "Projection batches that failed and were rolled back."),
    ("quarantined_tickets", "gauge", "Tickets set aside because evaluating them failed."),
)


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(round(value, 3))
    return str(int(value))


def render(status: Mapping[str, Any], projection: str = "tickets") -> list[str]:
    lines = []
    for key, kind, help_text in _METRICS:
        metric = f"slaclock_projection_{key}"
        lines.append(f"# HELP {metric} {help_text}")
        lines.append(f"# TYPE {metric} {kind}")
        lines.append(f'{metric}{{projection="{projection}"}} {_number(status[key])}')
    return lines
