"""eventsourcing's JSON event format, written and read by orjson.

The stored bytes are exactly what the library's JSONTranscoder writes (compact
separators, UTF-8, registered types as ``{"_type_": name, "_data_": value}``),
so the log stays readable by the library and by older slaclock versions; only
the speed differs: encoding a ticket event takes about a tenth of the time, and
the writer and every projection rebuild spend their time there.

orjson writes datetimes and dataclasses natively; they are passed through to the
registered transcodings instead. A UUID (which orjson cannot pass through) or a
non-finite float (which it would write as null) sends the whole object to the
library's encoder, so every state keeps its meaning; tests/unit/test_transcoder.py
checks the bytes against the library's for every event class.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    StoredEvent,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic

from domain.events import CLASS_OF_TYPE, isoformat

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


def event_transcoder() -> FastJSONTranscoder:
    """The transcoder of slaclock's event store, with the library's standard transcodings."""
    transcoder = FastJSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


class FastJSONTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if _needs_library(obj):
            return super().encode(obj)
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)

    def decode(self, data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:  # NaN or Infinity, which only the library writes
            return super().decode(data)
        return self._revive(parsed)

    def _revive(self, value: Any) -> Any:
        """Turn ``{"_type_", "_data_"}`` objects back into values, innermost first."""
        if type(value) is list:
            return [self._revive(v) if type(v) in (dict, list) else v for v in value]
        if type(value) is not dict:
            return value
        for key, item in value.items():
            if type(item) in (dict, list):
                value[key] = self._revive(item)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self._decode_tagged(value["_type_"], value["_data_"])
        return value

    def _decode_tagged(self, name: Any, data: Any) -> Any:
        try:
            transcoding = self.names[name]
        except (KeyError, TypeError):
            msg = f"Data serialized with name '{name}' is not deserializable."
            raise TranscodingNotRegisteredError(msg) from None
        return transcoding.decode(data)


def _needs_library(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is not dict and kind is not list and kind is not tuple:
        return isinstance(value, UUID)
    for item in value.values() if kind is dict else value:
        if type(item) not in _SAFE and _needs_library(item):
            return True
    return False


_SAFE = frozenset({str, int, bool, type(None), datetime})
_TICKET_TOPICS = {
    cls: get_topic(cls)
    for cls in CLASS_OF_TYPE.values()
    if getattr(cls, "class_version", 1) == 1  # a later class version goes through the mapper
}


def stored_ticket_event(event: Any) -> StoredEvent | None:
    """A ticket event as the library's mapper stores it, built without its generic walk.

    The writer encodes every event it commits; ticket events (strings and two
    datetimes) are written here at about a third of the mapper's cost. Returns
    None for anything else; tests/unit/test_transcoder.py checks the bytes.
    """
    topic = _TICKET_TOPICS.get(type(event))
    if topic is None or any(type(v) is not str for v in event.data.values()):
        return None  # nested values (``attributes``) take the library's walk
    state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": isoformat(event.timestamp)},
        "ticket_id": event.ticket_id,
        "event_id": event.event_id,
        "occurred_at": {"_type_": "datetime_iso", "_data_": isoformat(event.occurred_at)},
        "data": event.data,
        "fingerprint": event.fingerprint,
    }
    fields = event.__dict__
    if "sequence" in fields:  # written as the mapper writes vars(event): only when set
        state["sequence"] = fields["sequence"]
    # Built as the frozen dataclass would build it, without its per-field __setattr__.
    stored = _new_stored_event(StoredEvent)
    stored.__dict__.update(
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=topic,
        state=orjson.dumps(state),
    )
    return stored


_new_stored_event = object.__new__
