"""Write-side rules of service events, decided in occurred_at order, and the outages replayed."""

from __future__ import annotations

import pytest

from domain.errors import Conflict, ValidationFailed
from domain.events import fingerprint
from domain.outages import Outage, ServiceHead, check_retry, check_transition, outages_of
from domain.service_events import (
    NewServiceEvent,
    ServiceEventType,
    parse_service_event_type,
    validate_service_data,
)
from tests.unit.uptime_support import outage_events, service_event, utc

START, END = ServiceEventType.OUTAGE_STARTED, ServiceEventType.OUTAGE_ENDED


def command(kind: ServiceEventType, at: str, event_id: str = "e") -> NewServiceEvent:
    instant = utc(at)
    return NewServiceEvent("iam", event_id, kind, instant, {}, fingerprint(kind.value, instant, {}))


def head_of(*pairs: tuple[str, str | None]) -> ServiceHead:
    return ServiceHead.replay("iam", outage_events(*pairs))


def accept(head: ServiceHead, new: NewServiceEvent) -> None:
    check_transition(head, new)
    head.record(new.event_id, new.fingerprint, head.version + 1)
    head.place(new.occurred_at, head.version, new.type is START)


def test_a_start_while_an_outage_is_open_is_a_conflict() -> None:
    head = head_of(("2026-03-07T14:00:00Z", None))
    with pytest.raises(Conflict):
        check_transition(head, command(START, "2026-03-07T15:00:00Z"))


def test_an_end_while_none_is_open_is_a_conflict() -> None:
    head = head_of(("2026-03-07T14:00:00Z", "2026-03-07T15:00:00Z"))
    with pytest.raises(Conflict):
        check_transition(head, command(END, "2026-03-07T16:00:00Z"))
    with pytest.raises(Conflict):
        check_transition(ServiceHead("iam"), command(END, "2026-03-07T16:00:00Z"))


def test_an_end_before_the_open_outage_start_is_422() -> None:
    head = head_of(("2026-03-07T14:00:00Z", None))
    with pytest.raises(ValidationFailed):
        check_transition(head, command(END, "2026-03-07T13:00:00Z"))


def test_a_late_start_is_checked_against_the_state_at_its_own_instant() -> None:
    # An outage is open now, but at 08:00 the service was up: a late outage fits there.
    head = head_of(("2026-03-07T14:00:00Z", None))
    accept(head, command(START, "2026-03-07T08:00:00Z", "late-start"))
    accept(head, command(END, "2026-03-07T08:30:00Z", "late-end"))
    # And a start at 14:30 falls inside the open outage.
    with pytest.raises(Conflict):
        check_transition(head, command(START, "2026-03-07T14:30:00Z"))


def test_a_late_start_inside_a_recorded_outage_is_a_conflict() -> None:
    head = head_of(("2026-03-07T14:00:00Z", "2026-03-07T15:00:00Z"))
    with pytest.raises(Conflict):
        check_transition(head, command(START, "2026-03-07T14:30:00Z"))


def test_an_event_at_the_same_instant_comes_after_the_recorded_one() -> None:
    head = head_of(("2026-03-07T14:00:00Z", "2026-03-07T15:00:00Z"))
    check_transition(head, command(START, "2026-03-07T15:00:00Z"))  # up again, then down
    with pytest.raises(Conflict):
        check_transition(head, command(END, "2026-03-07T15:00:00Z"))


def test_a_retry_with_the_same_body_answers_the_first_version_another_body_conflicts() -> None:
    head = ServiceHead("iam")
    first = command(START, "2026-03-07T14:00:00Z", "alert-1")
    accept(head, first)
    assert check_retry(head, first) == 1
    with pytest.raises(Conflict):
        check_retry(head, command(START, "2026-03-07T14:01:00Z", "alert-1"))
    assert check_retry(head, command(END, "2026-03-07T15:00:00Z", "alert-2")) is None


def test_replay_orders_by_occurred_at_and_reads_repeats_forgivingly() -> None:
    # Recorded order: start 10:00, end 11:00, then a late start at 08:00 (its end not yet
    # posted): the outage runs from 08:00 and the start at 10:00 changes nothing.
    events = outage_events(("2026-03-07T10:00:00Z", "2026-03-07T11:00:00Z"))
    events.append(service_event("start", utc("2026-03-07T08:00:00Z"), 3))
    assert outages_of(events) == [
        Outage(utc("2026-03-07T08:00:00Z"), utc("2026-03-07T11:00:00Z"), "start-3", "end-2")
    ]
    events.append(service_event("end", utc("2026-03-07T08:30:00Z"), 4))
    assert [(o.start, o.end) for o in outages_of(events)] == [
        (utc("2026-03-07T08:00:00Z"), utc("2026-03-07T08:30:00Z")),
        (utc("2026-03-07T10:00:00Z"), utc("2026-03-07T11:00:00Z")),
    ]


def test_service_event_types_and_data_are_validated() -> None:
    assert parse_service_event_type("outage_started") is START
    with pytest.raises(ValidationFailed):
        parse_service_event_type("opened")
    assert validate_service_data({"source": "alertmanager", "note": None}) == {
        "source": "alertmanager"
    }
    with pytest.raises(ValidationFailed) as caught:
        validate_service_data({"severity": "page", "note": ""})
    assert {e.field for e in caught.value.errors} == {"data.severity", "data.note"}
