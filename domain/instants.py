"""The range of instants slaclock accepts, and the one check every instant passes.

Instants come in as event ``occurred_at``, version ``effective_from`` and the
read parameters ``as_of``, ``as_known_at``, ``from`` and ``to``. Outside a
bounded range, UTC conversion and calendar compilation overflow Python's
datetime (year 1 with a positive offset, year 9999), and a clock's due instant
could be searched for thousands of years. The range is wide enough for any
real ticket and keeps every derived instant representable.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.errors import Conflict, ValidationFailed

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # included
END = datetime(2200, 1, 1, tzinfo=UTC)  # excluded
EARLIEST_US = 0
END_US = 7_258_118_400 * 1_000_000  # END in epoch microseconds
RANGE_TEXT = "from 1970-01-01T00:00:00Z up to, not including, 2200-01-01T00:00:00Z"


def to_utc(instant: datetime, field: str = "occurred_at") -> datetime:
    """The instant in UTC, or a 422 naming ``field`` when it is naive or out of range."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationFailed.single(field, "must carry a UTC offset (RFC 3339)")
    try:
        utc = instant.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before datetime's year 1
        utc = None
    if utc is None or not EARLIEST <= utc < END:
        raise ValidationFailed.single(field, f"must be an instant {RANGE_TEXT}")
    return utc


def check_evaluable(ticket_id: str, earliest_us: int, at_us: int) -> None:
    """Refuse to evaluate what only events stored before the range was enforced can hold.

    Their calendar maths would overflow or run for millennia; a 409 says the
    stored ticket, not the request, is the problem.
    """
    if earliest_us < EARLIEST_US or at_us >= END_US:
        raise Conflict(
            f"ticket {ticket_id!r} holds an event outside the instants slaclock evaluates"
            f" ({RANGE_TEXT})"
        )
