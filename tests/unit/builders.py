"""Test helpers: ticket event histories, policies and calendars, built in a line or two."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from domain.business_time import CalendarTimeline, to_us
from domain.calendar import parse_calendar
from domain.clock_model import Clock, ContractContext, SuspensionUs, TicketState
from domain.clocks import evaluate
from domain.events import CLASS_OF_TYPE, EventType, TicketEvent, fingerprint, ticket_uuid
from domain.policy import Policy, parse_policy
from domain.versions import Version

RECORDING_START = datetime(2026, 1, 1, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def utc(text: str) -> datetime:
    """An instant from RFC 3339 text (``Z`` or an offset), as an aware UTC datetime."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert instant.tzinfo is not None, "give an offset"
    return instant.astimezone(UTC)


def make_event(
    ticket_id: str,
    version: int,
    kind: str,
    occurred_at: datetime,
    data: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    recorded_at: datetime | None = None,
    sequence: int | None = None,
) -> TicketEvent:
    body = dict(data or {})
    cls = CLASS_OF_TYPE[EventType(kind)]
    return cls(
        originator_id=ticket_uuid(ticket_id),
        originator_version=version,
        timestamp=recorded_at or RECORDING_START + timedelta(seconds=version),
        ticket_id=ticket_id,
        event_id=event_id or f"e{version}",
        occurred_at=occurred_at,
        data=body,
        fingerprint=fingerprint(kind, occurred_at, body, sequence),
        sequence=sequence,
    )


class Ticket:
    """A ticket's history in recorded order.

    ``Ticket().opened("2026-03-02T09:00:00Z").then("responded", "2026-03-02T10:00:00Z")``
    """

    def __init__(self, ticket_id: str = "T-1") -> None:
        self.ticket_id = ticket_id
        self.events: list[TicketEvent] = []

    def opened(self, at: str, /, plan: str = "plan", **data: Any) -> Ticket:
        assert not self.events, "opened comes first"
        data.setdefault("kind", "incident")
        return self.then("opened", at, plan=plan, **data)

    def then(
        self,
        event_type: str,
        at: str,
        /,
        event_id: str | None = None,
        sequence: int | None = None,
        **data: Any,
    ) -> Ticket:
        """Record one more event (``event_id`` defaults to ``e<version>``)."""
        version = len(self.events) + 1
        made = make_event(
            self.ticket_id, version, event_type, utc(at), data, event_id, sequence=sequence
        )
        self.events.append(made)
        return self

    def priority(self, priority: str, at: str) -> Ticket:
        return self.then("priority_changed", at, priority=priority)


# --- calendars ----------------------------------------------------------------


def calendar_doc(
    timezone: str = "Europe/London",
    hours: list[list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Mon-Fri calendar document with the same hours every weekday (09:00-17:00 by default)."""
    day = hours if hours is not None else [["09:00", "17:00"]]
    week = dict.fromkeys(WEEKDAYS, day) | extra.pop("week", {})
    return {"timezone": timezone, "week": week, **extra}


def timeline(calendar_id: str, *versions: Mapping[str, Any]) -> CalendarTimeline:
    """A timeline from documents; a version after the first may carry ``effective_from``."""
    built = []
    for number, doc in enumerate(versions, start=1):
        body = dict(doc)
        effective = body.pop("effective_from", None)
        start = None if effective is None else utc(effective)
        if number > 1 and start is None:
            start = RECORDING_START
        built.append(Version(number, start, RECORDING_START, parse_calendar(body)))
    return CalendarTimeline(calendar_id, built)


CalendarDocs = Mapping[str, Mapping[str, Any] | list[Mapping[str, Any]]]


def calendars(docs: CalendarDocs) -> Callable[[str], CalendarTimeline]:
    """A calendar lookup like the service's: ``calendars({"office": calendar_doc()})``.

    A list holds a calendar's versions in order. The lookup raises KeyError for
    an unknown id, so a test never silently falls back to some other calendar.
    """
    timelines = {}
    for calendar_id, doc in docs.items():
        versions = doc if isinstance(doc, list) else [doc]
        timelines[calendar_id] = timeline(calendar_id, *versions)

    def lookup(calendar_id: str) -> CalendarTimeline:
        return timelines[calendar_id]

    return lookup


OFFICE = calendar_doc("Europe/London", holidays=["2026-04-03", "2026-04-06", "2026-05-04"])
DEFAULT_CALENDARS = calendars({"office": OFFICE})


# --- policies -----------------------------------------------------------------

BASE_POLICY: dict[str, Any] = {
    "name": "Test plan",
    "calendar": "office",
    "priorities": ["P1", "P2", "P3", "P4"],
    "default_priority": "P3",
    "metrics": {
        "response": {
            "targets": {
                "P1": {"hours": 1},
                "P2": {"hours": 4},
                "P3": {"working_days": 1},
                "P4": {"working_days": 2},
            }
        },
        "relief": {"targets": {"P1": {"hours": 4}, "P2": {"hours": 8}, "P3": {"working_days": 2}}},
        "resolution": {
            "targets": {
                "P1": {"working_days": 2},
                "P2": {"working_days": 5},
                "P3": {"working_days": 10},
            }
        },
    },
}


def policy_doc(**changes: Any) -> dict[str, Any]:
    """The base policy document with top-level keys replaced (None removes a key)."""
    doc = copy.deepcopy(BASE_POLICY)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def policy(number: int = 1, **changes: Any) -> Version[Policy]:
    return Version(number, None, RECORDING_START, parse_policy(policy_doc(**changes)))


def as_version(value: Policy, number: int = 1) -> Version[Policy]:
    return Version(number, None, RECORDING_START, value)


# --- evaluation ---------------------------------------------------------------


def state_of(
    ticket: Ticket,
    at: str,
    plan: Version[Policy] | None = None,
    lookup: Callable[[str], CalendarTimeline] = DEFAULT_CALENDARS,
    with_segments: bool = True,
) -> TicketState:
    return evaluate(
        ticket.ticket_id,
        ticket.events,
        plan or policy(),
        lookup,
        utc(at),
        with_segments=with_segments,
    )


def clock_of(
    ticket: Ticket,
    at: str,
    metric: str = "response",
    plan: Version[Policy] | None = None,
    lookup: Callable[[str], CalendarTimeline] = DEFAULT_CALENDARS,
) -> Clock:
    clock = state_of(ticket, at, plan, lookup).clock(metric)
    assert clock is not None, f"no {metric} clock"
    return clock


HOUR = 3600


# --- random histories (Hypothesis) ----------------------------------------------

PRIORITIES = ("P1", "P2", "P3", "P4")
LATER_EVENT_TYPES = (
    "priority_changed",
    "responded",
    "awaiting_customer",
    "customer_replied",
    "relieved",
    "resolved",
    "reopened",
    "closed",
)
HISTORY_START = datetime(2026, 3, 23, tzinfo=UTC)  # a week before London's DST change
LUNCH_OFFICE = calendar_doc(
    hours=[["09:00", "12:30"], ["13:30", "17:00"]],
    holidays=["2026-04-03", "2026-04-06"],
    hours_per_working_day=7,
)
# "region" is a contract's own calendar in the suspension properties.
REGION = calendar_doc("America/New_York", hours=[["08:00", "18:00"]])
PROPERTY_CALENDARS = calendars({"office": LUNCH_OFFICE, "region": REGION})
# P1 runs round the clock; relief has no P3/P4 target (clocks appear with a
# raise); response pauses too, and P4 has no resolution target.
PROPERTY_POLICY_DOC = policy_doc(
    calendar_overrides={"P1": "24x7"},
    metrics={
        "response": {
            "targets": {"P1": {"minutes": 30}, "P2": {"hours": 2}, "P3": {"working_days": 1}},
            "pause_when_awaiting_customer": True,
        },
        "relief": {"targets": {"P1": {"hours": 4}, "P2": {"hours": 6}}},
        "resolution": {
            "targets": {
                "P1": {"working_days": 1},
                "P2": {"working_days": 2},
                "P3": {"working_days": 3},
            }
        },
    },
)


@st.composite
def histories(draw: st.DrawFn, distinct: bool = False, max_events: int = 8) -> Ticket:
    """A ticket opened in a five-week window (DST change and Easter inside it), then up to
    ``max_events`` events at whole minutes within five days, recorded in any order
    (so some arrive late). ``distinct``: every event at its own instant, after the opening."""
    opened_at = HISTORY_START + timedelta(minutes=draw(st.integers(0, 35 * 1440)))
    priority = draw(st.sampled_from((*PRIORITIES, None)))
    ticket = Ticket("H-1")
    extra = {} if priority is None else {"priority": priority}
    ticket.opened(opened_at.isoformat(), **extra)
    count = draw(st.integers(0, max_events))
    offsets = draw(
        st.lists(
            st.integers(1 if distinct else 0, 5 * 1440),
            min_size=count,
            max_size=count,
            unique=distinct,
        )
    )
    for index, offset in enumerate(offsets):
        event_type = draw(st.sampled_from(LATER_EVENT_TYPES))
        instant = (opened_at + timedelta(minutes=offset)).isoformat()
        data = {}
        if event_type == "priority_changed":
            data["priority"] = draw(st.sampled_from(PRIORITIES))
        ticket.then(event_type, instant, event_id=f"x{index}", **data)
    return ticket


def contract_context(
    *stretches: tuple[str, str | None], calendar: str | None = None
) -> ContractContext:
    """A contract's context: ``contract_context(("...T10:00Z", "...T12:00Z"))``; end None: open."""
    suspensions = tuple(
        SuspensionUs(
            to_us(utc(start)),
            None if end is None else to_us(utc(end)),
            f"s{index}",
            None if end is None else f"r{index}",
        )
        for index, (start, end) in enumerate(stretches)
    )
    return ContractContext("C-1", calendar, suspensions)


@st.composite
def contexts(draw: st.DrawFn, opened_at: datetime) -> ContractContext:
    """Up to three disjoint suspensions at whole minutes from two days before the
    opening to six days after it (the last may still last), maybe a region calendar.
    Bounds may coincide: a suspension may end as the next begins, or last no time."""
    count = draw(st.integers(0, 3))
    bounds = sorted(
        draw(
            st.lists(
                st.integers(-2 * 1440, 6 * 1440),
                min_size=2 * count,
                max_size=2 * count,
            )
        )
    )
    open_ended = count > 0 and draw(st.booleans())
    suspensions = []
    for index in range(count):
        start = to_us(opened_at + timedelta(minutes=bounds[2 * index]))
        end: int | None = to_us(opened_at + timedelta(minutes=bounds[2 * index + 1]))
        if open_ended and index == count - 1:
            end = None
        suspensions.append(
            SuspensionUs(start, end, f"s{index}", None if end is None else f"r{index}")
        )
    calendar = draw(st.sampled_from((None, "region")))
    return ContractContext("C-1", calendar, tuple(suspensions))
