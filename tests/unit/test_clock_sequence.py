"""``sequence`` breaks ties at equal occurred_at: sequenced events first, in sequence
order, then the others in recorded order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clock_model import ClockState, Outcome, TicketStatus
from tests.unit.builders import Ticket, clock_of, state_of

MON = "2026-03-02"


def at(time: str) -> str:
    return f"{MON}T{time}Z"


def minute_stamped(*, with_sequence: bool) -> Ticket:
    """A log stamped to the minute: resolved, reopened and resolved again at 09:04.

    The reopening's first delivery failed, so it was re-sent after the last
    resolution had been recorded.
    """

    def seq(n: int) -> int | None:
        return n if with_sequence else None

    return (
        Ticket()
        .opened(at("09:00:00"), sequence=seq(1))
        .then("resolved", at("09:04:00"), event_id="r1", sequence=seq(2))
        .then("resolved", at("09:04:00"), event_id="r2", sequence=seq(4))
        .then("reopened", at("09:04:00"), event_id="o", sequence=seq(3))  # re-sent
    )


def test_without_a_sequence_the_resent_reopening_counts_last() -> None:
    ticket = minute_stamped(with_sequence=False)
    state = state_of(ticket, "2026-03-20T09:00:00Z")
    assert state.status is TicketStatus.OPEN
    resolution = clock_of(ticket, "2026-03-20T09:00:00Z", "resolution")
    assert (resolution.state, resolution.outcome) == (ClockState.RUNNING, Outcome.BREACHED)


def test_with_a_sequence_the_source_order_decides() -> None:
    ticket = minute_stamped(with_sequence=True)
    assert state_of(ticket, "2026-03-20T09:00:00Z").status is TicketStatus.RESOLVED
    resolution = clock_of(ticket, "2026-03-20T09:00:00Z", "resolution")
    assert (resolution.state, resolution.outcome) == (ClockState.STOPPED, Outcome.MET)
    assert resolution.elapsed_seconds == 240


def test_sequenced_events_come_before_unsequenced_ones_at_the_same_instant() -> None:
    ticket = (
        Ticket()
        .opened(at("09:00:00"))
        .then("resolved", at("09:04:00"), event_id="r1", sequence=7)
        .then("reopened", at("09:04:00"), event_id="o")  # recorded first among the two
        .then("resolved", at("09:04:00"), event_id="r2", sequence=9)
    )
    # By sequence: r1, r2, then the unsequenced reopening: the ticket is open again.
    assert state_of(ticket, at("10:00:00")).status is TicketStatus.OPEN


def test_a_sequence_does_not_move_an_event_across_instants() -> None:
    ticket = (
        Ticket()
        .opened(at("09:00:00"), sequence=5)
        .then("resolved", at("09:04:00"), event_id="r", sequence=1)
        .then("reopened", at("09:05:00"), event_id="o", sequence=0)
    )
    assert state_of(ticket, at("10:00:00")).status is TicketStatus.OPEN


_KINDS = ("responded", "awaiting_customer", "customer_replied", "relieved", "resolved", "reopened")
_STEPS = st.lists(
    st.tuples(st.sampled_from(_KINDS), st.integers(min_value=0, max_value=2)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(steps=_STEPS, data=st.data())
def test_the_recording_order_of_sequenced_events_does_not_change_the_clocks(
    steps: list[tuple[str, int]], data: st.DataObject
) -> None:
    """Minute-stamped events (many ties), each with its sequence, recorded in any order
    after the opening give the same clocks as recorded in source order."""
    minute, events = 0, []
    for n, (kind, gap) in enumerate(steps, start=2):
        minute += gap
        events.append((kind, f"{MON}T09:{minute:02d}:00Z", f"e{n}", n))
    shuffled = data.draw(st.permutations(events))

    def recorded(order: list[tuple[str, str, str, int]]) -> Ticket:
        ticket = Ticket().opened(at("09:00:00"), sequence=1)
        for kind, instant, event_id, sequence in order:
            ticket.then(kind, instant, event_id=event_id, sequence=sequence)
        return ticket

    when = "2026-03-04T12:00:00Z"
    assert state_of(recorded(shuffled), when) == state_of(recorded(events), when)
