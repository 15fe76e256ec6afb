"""When a failed delivery is tried again: exponential with jitter, over more than 24 hours.

Attempt ``n`` (1-based) that fails waits ``min(5 s * 3**(n-1), 6 h)``, scaled by a
jitter factor in [0.8, 1.2] so receivers recovering from an outage are not hit by
every sender at once. After ``MAX_ATTEMPTS`` failures the delivery is dead. Even
with the least jitter the waits add up to more than 24 hours (``min_total_seconds``).
"""

from __future__ import annotations

FIRST_DELAY_SECONDS = 5.0
FACTOR = 3.0
CAP_SECONDS = 6 * 3600.0
MAX_ATTEMPTS = 14
JITTER = 0.2


def base_delay(failures: int) -> float:
    """The wait after the ``failures``-th failed attempt, before jitter."""
    return min(FIRST_DELAY_SECONDS * FACTOR ** (failures - 1), CAP_SECONDS)


def next_delay(failures: int, jitter: float, scale: float = 1.0) -> float | None:
    """Seconds until the next attempt, or None when the delivery is dead.

    ``jitter`` in [0, 1) (a random draw) maps onto [1 - JITTER, 1 + JITTER);
    ``scale`` shrinks the whole schedule (tests), never below it in production.
    """
    if failures >= MAX_ATTEMPTS:
        return None
    factor = 1 - JITTER + 2 * JITTER * jitter
    return base_delay(failures) * factor * scale


def min_total_seconds() -> float:
    """The shortest time from the first attempt to the dead letter (least jitter)."""
    return sum(base_delay(n) * (1 - JITTER) for n in range(1, MAX_ATTEMPTS))
