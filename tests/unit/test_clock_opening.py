"""A ticket evaluated at its opening alone: ``evaluate_figures``' shortcut against the replay.

``domain.opening`` answers without ledgers; these properties pin that it gives
exactly what ``replayed_figures`` gives (or fails alike) for random policies
(targets in every unit, calendar overrides, priority rules, warning fractions
down to zero, metrics with no target), openings (recorded calendars, known or
not, on a calendar whose working day changes between versions) and contracts
(calendars and suspensions in force at the opening or not).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.business_time import from_us, to_us
from domain.clock_model import ClockState, ContractContext, Occurrence, SuspensionUs, TicketFigures
from domain.clocks import evaluate_figures, replayed_figures
from domain.events import EventType
from domain.policy import Policy, parse_policy
from domain.versions import Version
from tests.unit.builders import (
    HISTORY_START,
    LUNCH_OFFICE,
    PRIORITIES,
    RECORDING_START,
    REGION,
    calendar_doc,
    calendars,
    contexts,
)

# The office's working day shortens mid-window: working-day targets depend on the opening.
LOOKUP = calendars(
    {
        "office": [
            LUNCH_OFFICE,
            calendar_doc(hours=[["10:00", "15:00"]], effective_from="2026-04-13T00:00:00Z"),
        ],
        "region": REGION,
    }
)
CALENDAR_IDS = ("office", "region", "24x7", "nowhere")  # "nowhere": no such calendar
TARGETS = st.one_of(
    st.none(),
    st.builds(lambda n: {"minutes": n}, st.integers(1, 600)),
    st.builds(lambda n: {"hours": n}, st.sampled_from((1, 2.5, 1 / 3, 24, 100))),
    st.builds(lambda n: {"working_days": n}, st.sampled_from((1, 0.5, 2, 10, 366))),
)


@st.composite
def policies(draw: st.DrawFn) -> Version[Policy]:
    metrics: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(("response", "relief", "resolution")), min_size=1)):
        targets = {p: t for p in PRIORITIES if (t := draw(TARGETS)) is not None}
        targets = targets or {"P4": {"minutes": 5}}  # a document names some target
        pauses = draw(st.booleans())
        metrics[name] = {"targets": targets, "pause_when_awaiting_customer": pauses}
    doc: dict[str, Any] = {
        "name": "Random",
        "calendar": draw(st.sampled_from(CALENDAR_IDS[:3])),
        "priorities": list(PRIORITIES),
        "default_priority": draw(st.sampled_from(PRIORITIES)),
        "metrics": metrics,
        "calendar_overrides": draw(
            st.dictionaries(st.sampled_from(PRIORITIES), st.sampled_from(CALENDAR_IDS), max_size=2)
        ),
        "priority_rules": [
            {"when": {"customer": "acme"}, "priority": draw(st.sampled_from(PRIORITIES))}
        ],
        "warning_fraction": draw(st.sampled_from((0.5, 0.75, 0.999, 1e-9))),
    }
    policy = parse_policy(doc)
    if draw(st.booleans()):
        # Out of what a document may say, and still evaluable: no warning margin, no metrics.
        policy = replace(policy, warning_fraction=draw(st.sampled_from((0.0, 1.0))))
    if draw(st.integers(0, 9)) == 0:
        policy = replace(policy, metrics={})
    return Version(draw(st.integers(1, 3)), None, RECORDING_START, policy)


@st.composite
def openings(draw: st.DrawFn) -> Occurrence:
    at = HISTORY_START + timedelta(
        minutes=draw(st.integers(0, 35 * 1440)), microseconds=draw(st.integers(0, 59_999_999))
    )
    data: dict[str, Any] = {"plan": "random"}
    for key, values in (
        ("priority", (*PRIORITIES, "P9", 7)),
        ("customer", ("acme", "other", 42)),
        ("kind", ("incident", "request")),
        ("calendar", (*CALENDAR_IDS, 3)),
    ):
        if draw(st.booleans()):
            data[key] = draw(st.sampled_from(values))
    return Occurrence(EventType.OPENED, to_us(at), 1, "e-open", data)


def answer(run: Any, opened: Occurrence, *args: Any, **kwargs: Any) -> TicketFigures | str:
    """The figures, or the exception raised, by type and message."""
    try:
        figures: TicketFigures = run("T-1", [opened], *args, **kwargs)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return figures


@settings(max_examples=500, deadline=None)
@given(policies(), openings(), st.data())
def test_an_opening_alone_is_answered_as_the_replay_answers_it(
    policy: Version[Policy], opened: Occurrence, data: st.DataObject
) -> None:
    contract: ContractContext | None = None
    if data.draw(st.booleans()):
        contract = data.draw(contexts(from_us(opened.occurred_us)))
        if data.draw(st.integers(0, 4)) == 0:
            contract = replace(contract, calendar="nowhere")
    at = opened.occurred_us
    fast = answer(evaluate_figures, opened, policy, LOOKUP, at, contract=contract)
    assert fast == answer(replayed_figures, opened, policy, LOOKUP, at, contract=contract)


def test_a_suspension_in_force_at_the_opening_holds_its_clocks_from_the_start() -> None:
    """An example of what the property compares: held clocks, paused with no due instant."""
    policy = Version(1, None, RECORDING_START, parse_policy(_doc()))
    at = to_us(HISTORY_START)
    opened = Occurrence(EventType.OPENED, at, 1, "e", {"plan": "one"})
    held = ContractContext("C-1", "region", (SuspensionUs(at - 60_000_000, None, "s0", None),))
    figures = evaluate_figures("T-1", [opened], policy, LOOKUP, at, contract=held)
    assert figures == replayed_figures("T-1", [opened], policy, LOOKUP, at, contract=held)
    (clock,) = figures.clocks
    assert (clock.calendar, clock.state, clock.due_us, clock.suspended) == (
        "region",
        ClockState.PAUSED,
        None,
        True,
    )


def _doc() -> dict[str, Any]:
    return {
        "name": "One",
        "calendar": "office",
        "priorities": ["P1"],
        "default_priority": "P1",
        "metrics": {"response": {"targets": {"P1": {"hours": 4}}}},
    }
