"""A new ticket's rows built straight from its opening against the general path's.

``projections.openings.opening_rows`` answers for a ticket whose only fact is
its opening, and must give exactly the rows ``general_rows`` makes from the
evaluated figures: for random policies (every target unit, calendar overrides
to known, built-in and unknown calendars, priority rules, warning fractions
down to zero, no metrics), random openings (a working day that changes between
calendar versions) and plans not yet in effect. Where it declines (a contract,
a plan not in effect, a calendar with no version), the general path answers.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from domain.business_time import to_us
from domain.clock_model import Occurrence
from domain.policy import Policy, parse_policy
from domain.versions import Version
from projections.catalog import CatalogRow, ProjectionCatalog
from projections.facts import Fact
from projections.openings import opening_rows
from projections.rows import CLOCK_COLUMNS, evaluate_ticket_rows, general_rows
from tests.unit.builders import HISTORY_START, LUNCH_OFFICE, RECORDING_START, REGION, calendar_doc
from tests.unit.test_clock_opening import openings, policies

SHORTER_DAYS_FROM = HISTORY_START + timedelta(days=21)


def _catalog(policy: Version[Policy], *, redefined_24x7: bool = False) -> ProjectionCatalog:
    """``redefined_24x7``: a log that defines the built-in calendar (the API refuses to),
    which the general path ignores."""
    catalog = ProjectionCatalog()
    recorded = to_us(RECORDING_START)
    shorter = calendar_doc(hours=[["10:00", "15:00"]])
    versions = [
        ("office", 1, None, LUNCH_OFFICE),
        ("office", 2, to_us(SHORTER_DAYS_FROM), shorter),
        ("region", 1, None, REGION),
    ]
    if redefined_24x7:
        versions.append(("24x7", 1, None, REGION))
    for key, number, starts, doc in versions:
        catalog.add(CatalogRow(key, number, starts, recorded, 1, json.dumps(doc)), is_policy=False)
    catalog.policies["random"] = [policy]
    return catalog


def _facts(opened: Occurrence) -> list[Fact]:
    at = opened.occurred_us
    return [["opened", opened.event_id, at, at, opened.version, dict(opened.data)]]


def _general(facts: list[Fact], catalog: ProjectionCatalog) -> object:
    try:
        return general_rows("T-1", facts, 7, catalog)
    except Exception as error:
        return f"{type(error).__name__}: {error}"


@settings(max_examples=500, deadline=None)
@given(policies(), openings(), st.sampled_from((None, "later", "contract", "redefined 24x7")))
def test_an_openings_rows_are_the_general_paths(
    policy: Version[Policy], opened: Occurrence, twist: str | None
) -> None:
    if twist == "later":  # the plan's only version starts after the opening
        policy = replace(policy, effective_from=SHORTER_DAYS_FROM + timedelta(days=30))
    catalog = _catalog(policy, redefined_24x7=twist == "redefined 24x7")
    facts = _facts(opened)
    if twist == "contract":
        facts[0][5]["contract"] = "C-1"
    general = _general(facts, catalog)
    fast = opening_rows("T-1", facts, 7, catalog)
    if fast is None:
        declined = twist is not None or str(general).startswith("LookupError: calendar")
        assert declined, general
        event("declined")
        return
    event("answered")
    assert fast == general
    assert list(fast[0]) == list(general[0])  # the same column order: rows go out as tuples
    assert evaluate_ticket_rows("T-1", facts, 7, catalog) == fast


def test_a_new_tickets_rows_come_from_its_opening() -> None:
    """An example of what the property compares, on a plan every opening finds."""
    doc: dict[str, Any] = {
        "name": "One",
        "calendar": "office",
        "priorities": ["P1", "P2"],
        "default_priority": "P2",
        "metrics": {
            "response": {"targets": {"P1": {"hours": 4}, "P2": {"working_days": 1}}},
            "resolution": {"targets": {"P1": {"working_days": 2}}},
        },
    }
    catalog = _catalog(Version(1, None, RECORDING_START, parse_policy(doc)))
    at = to_us(HISTORY_START + timedelta(hours=9, minutes=15))  # a Monday, 09:15 London
    facts: list[Fact] = [["opened", "e1", at, at, 1, {"plan": "random", "customer": "acme"}]]
    rows = opening_rows("T-1", facts, 7, catalog)
    assert rows is not None
    assert rows == general_rows("T-1", facts, 7, catalog)
    ticket, clocks = rows
    assert (ticket["priority"], ticket["customer"], ticket["settled_at_us"]) == ("P2", "acme", None)
    (clock,) = [dict(zip(CLOCK_COLUMNS, values, strict=True)) for values in clocks]
    # One working day is 7 hours on the office's lunch calendar: due Tuesday at 09:15.
    assert (clock["metric"], clock["state"], clock["target_seconds"]) == (
        "response",
        "running",
        7 * 3600,
    )
    assert (clock["started_at_us"], clock["breached_at_us"], clock["stopped_at_us"]) == (
        at,
        None,
        None,
    )
    due = to_us(HISTORY_START + timedelta(days=1, hours=9, minutes=15))
    assert clock["due_at_us"] == clock["running_due_us"] == clock["breach_from_us"] == due
    assert at < clock["warn_at_us"] < due
