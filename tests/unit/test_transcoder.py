"""The orjson transcoder writes and reads exactly the library's JSON event format."""

from __future__ import annotations

import math
import pickle
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from domain.events import (
    CLASS_OF_TYPE,
    NAMESPACE,
    CalendarVersionDefined,
    EventType,
    PolicyVersionDefined,
    calendar_uuid,
    isoformat,
    new_ticket_event,
    policy_uuid,
    ticket_uuid,
)
from service.storage.transcoder import event_transcoder, stored_ticket_event

T0 = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def library() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


def ticket_events() -> list[Any]:
    return [
        cls(
            originator_id=ticket_uuid("T-1"),
            originator_version=n,
            timestamp=T0 + timedelta(microseconds=n),
            ticket_id="T-1",
            event_id=f"é-{n}",
            occurred_at=T0.astimezone(timezone(timedelta(hours=-5, minutes=-30))),
            data={"plan": "gold", "note": 'naïve ☃ "quoted"\n', "kind": "incident"},
            fingerprint="ab" * 32,
        )
        for n, cls in enumerate(CLASS_OF_TYPE.values(), start=1)
    ]


def catalog_events() -> list[Any]:
    document = {
        "timezone": "Europe/Dublin",
        "week": {"mon": [["09:00", "17:30"]], "sat": []},
        "hours_per_working_day": 8.5,
        "objective": 0.95,
        "holidays": None,
        "flags": [True, False, 3],
    }
    return [
        CalendarVersionDefined(
            originator_id=calendar_uuid("dublin"),
            originator_version=1,
            timestamp=T0,
            calendar_id="dublin",
            document=document,
            effective_from=None,
        ),
        PolicyVersionDefined(
            originator_id=policy_uuid("gold"),
            originator_version=2,
            timestamp=T0,
            plan_id="gold",
            document=document,
            effective_from=T0 - timedelta(days=3),
        ),
    ]


@pytest.mark.parametrize(
    "event", ticket_events() + catalog_events(), ids=lambda e: type(e).__name__
)
def test_every_event_class_is_stored_byte_for_byte_as_the_library_stores_it(event: Any) -> None:
    ours, theirs = Mapper(transcoder=event_transcoder()), Mapper(transcoder=library())
    stored = ours.to_stored_event(event)
    assert stored == theirs.to_stored_event(event)
    assert ours.to_domain_event(stored) == event == theirs.to_domain_event(stored)


@pytest.mark.parametrize(
    "state",
    [
        {"id": uuid.UUID(int=7), "at": T0},
        {"nested": [{"id": uuid.UUID(int=8)}]},
        {"ratio": math.inf},
        {"amount": Decimal("1.10"), "at": [T0, {"deep": T0}]},
    ],
)
def test_values_orjson_would_spell_differently_keep_the_library_format(
    state: dict[str, Any],
) -> None:
    encoded = event_transcoder().encode(state)
    assert encoded == library().encode(state)
    assert event_transcoder().decode(encoded) == library().decode(encoded)


def test_an_unknown_tag_is_refused_as_the_library_refuses_it() -> None:
    blob = b'{"at":{"_type_":"no_such_type","_data_":1}}'
    with pytest.raises(TranscodingNotRegisteredError):
        library().decode(blob)
    with pytest.raises(TranscodingNotRegisteredError):
        event_transcoder().decode(blob)


def test_an_object_that_only_looks_tagged_is_left_alone_by_both() -> None:
    blob = b'{"a":{"_type_":"datetime_iso"},"b":{"_type_":"x","_data_":1,"c":2}}'
    assert event_transcoder().decode(blob) == library().decode(blob)


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(max_size=20)
    | st.datetimes(timezones=st.just(UTC))
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_any_state_of_plain_values_and_datetimes_matches_the_library(state: dict[str, Any]) -> None:
    encoded = event_transcoder().encode(state)
    assert encoded == library().encode(state)
    assert event_transcoder().decode(encoded) == library().decode(encoded)


@pytest.mark.parametrize("event", ticket_events(), ids=lambda e: type(e).__name__)
def test_a_ticket_event_written_directly_is_what_the_mapper_writes(event: Any) -> None:
    assert stored_ticket_event(event) == Mapper(transcoder=library()).to_stored_event(event)


def built_events() -> list[Any]:
    """As the writer builds them: ``sequence`` in the state only when given."""
    return [
        new_ticket_event(
            kind,
            originator_id=ticket_uuid("T-1"),
            originator_version=n,
            timestamp=T0,
            ticket_id="T-1",
            event_id=f"e{n}",
            occurred_at=T0,
            data={"plan": "gold", "note": "n"},
            fingerprint="ab" * 32,
            sequence=sequence,
        )
        for n, (kind, sequence) in enumerate(
            [(EventType.OPENED, None), (EventType.RESOLVED, 0), (EventType.REOPENED, 2**63 - 1)],
            start=1,
        )
    ]


@pytest.mark.parametrize("event", built_events(), ids=["no sequence", "sequence 0", "max"])
def test_a_built_ticket_event_written_directly_is_what_the_mapper_writes(event: Any) -> None:
    written = stored_ticket_event(event)
    assert written == Mapper(transcoder=library()).to_stored_event(event)
    assert written is not None
    assert (b'"sequence"' in written.state) is (event.sequence is not None)
    assert Mapper(transcoder=event_transcoder()).to_domain_event(written) == event


NESTED = {"plan": "gold", "attributes": {"sys_id": "9d3", "tags": ["a", {"b": 1.5}]}}


@pytest.mark.parametrize(
    "event",
    [
        *catalog_events(),
        replace(ticket_events()[0], data={"plan": "gold", "count": 3}),
        replace(ticket_events()[0], data=NESTED, sequence=4),
    ],
    ids=["calendar", "policy", "non-text data", "attributes"],
)
def test_anything_else_is_left_to_the_mapper(event: Any) -> None:
    assert stored_ticket_event(event) is None


def test_attributes_go_through_the_fast_encoder_as_the_library_writes_them() -> None:
    event = replace(ticket_events()[0], data=NESTED, sequence=4)
    ours, theirs = Mapper(transcoder=event_transcoder()), Mapper(transcoder=library())
    assert ours.to_stored_event(event) == theirs.to_stored_event(event)
    assert ours.to_domain_event(ours.to_stored_event(event)) == event


@given(st.text(max_size=200))
def test_ticket_ids_are_uuid5_in_the_slaclock_namespace(ticket_id: str) -> None:
    made, expected = ticket_uuid(ticket_id), uuid.uuid5(NAMESPACE, f"ticket:{ticket_id}")
    assert made == expected
    assert (str(made), hash(made), made.version, made.variant, made.is_safe) == (
        str(expected),
        hash(expected),
        expected.version,
        expected.variant,
        expected.is_safe,
    )
    assert pickle.loads(pickle.dumps(made)) == expected


def test_the_cached_iso_text_keeps_each_offsets_own_spelling() -> None:
    elsewhere = T0.astimezone(timezone(timedelta(hours=2)))
    assert elsewhere == T0
    assert isoformat(T0) == "2026-03-02T09:15:00+00:00"
    assert isoformat(elsewhere) == "2026-03-02T11:15:00+02:00"
    assert isoformat(T0) == T0.isoformat()
