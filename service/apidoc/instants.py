"""The one way an instant is written in a request: RFC 3339, with an offset, 1970-2199.

Query parameters and body fields both use ``Instant``, so ``?to=0.5`` (which
pydantic alone would read as seconds since the epoch) is a 422, and the
published schema carries the same pattern the service checks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from domain.instants import EARLIEST, END, RANGE_TEXT

# The written year is 1970-2199; the UTC range is checked after parsing, as an
# offset can move an instant written on 1970-01-01 into 1969.
INSTANT_PATTERN = (
    r"^(19[7-9]\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
# Any year, for the message: a well-formed instant out of range says so.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
INSTANT_TEXT = "must be an RFC 3339 date-time with an offset, e.g. 2026-03-02T09:15:00Z"


def parse_instant(value: object) -> datetime:
    """The instant ``value`` spells; a validation error (a 422) for anything else."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value  # already parsed: built in Python, not read from a request
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise PydanticCustomError("instant", INSTANT_TEXT)
    try:
        moment = datetime.fromisoformat(value)
        utc = moment.astimezone(UTC)
    except ValueError:
        raise PydanticCustomError("instant", INSTANT_TEXT + "; no such date or time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
        utc = None
    if utc is None or not EARLIEST <= utc < END:
        raise PydanticCustomError("instant", f"must be an instant {RANGE_TEXT}")
    return moment


INSTANT_SCHEMA = {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}
Instant = Annotated[
    datetime,
    PlainValidator(parse_instant),
    WithJsonSchema(INSTANT_SCHEMA),
]
