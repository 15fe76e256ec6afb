"""The month range a service page shows when the form leaves it blank: the last twelve."""

from __future__ import annotations

from datetime import UTC, datetime

SHOWN_MONTHS = 12


def _label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def default_months(now: datetime, first: str | None, last: str | None) -> tuple[str, str]:
    today = now.astimezone(UTC)
    end = last or _label(today.year, today.month)
    if first:
        return first, end
    year, month = int(end[:4]), int(end[5:7])
    index = year * 12 + month - 1 - (SHOWN_MONTHS - 1)
    return _label(index // 12, index % 12 + 1), end
