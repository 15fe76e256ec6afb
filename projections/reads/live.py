"""What a clock row means at a query instant: time-driven breaches and risk.

Rows are evaluated at their ticket's last event. A clock still running and not
breached then is breached from its ``due_at`` on, and at risk from ``warn_at``
until ``due_at``; both are decided here, at query time, so no sweep job has to
write them and none can lag behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.business_time import US, from_us


@dataclass(frozen=True)
class LiveClock:
    outcome: str
    at_risk: bool
    breached_at_us: int | None


def live_clock(row: Mapping[str, Any], now_us: int) -> LiveClock:
    due = row["running_due_us"]
    if due is not None and due <= now_us:
        return LiveClock("breached", False, due)
    warn = row["warn_at_us"]
    at_risk = due is not None and warn is not None and warn <= now_us
    return LiveClock(row["outcome"], at_risk, row["breached_at_us"])


def instant(value_us: int | None) -> datetime | None:
    """An output instant: UTC, truncated to the whole second (sla-semantics: Time)."""
    if value_us is None:
        return None
    return from_us(value_us - value_us % US)
