"""The seed policies in ``policies/``: each vendor's stated promises, reproduced by the evaluator.

One section per seed (see docs/seeds.md). Local times are written in the
zone of the calendar they test (``wall``), so each case reads as the seed does.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from domain.clock_model import ClockState
from domain.policy import METRICS
from service.cli.jobs import policy_files, read_policy_file
from tests.unit.builders import Ticket, utc
from tests.unit.seed_support import (
    POLICIES_DIR,
    SeedFile,
    all_paths,
    is_labelled,
    pattern_matches,
    target_paths,
    wall,
)

STEMS = ("softwareidm", "uk-iam-vendor", "isode", "konneqt", "ivanti")
LONDON, NEW_YORK, SAO_PAULO = "Europe/London", "America/New_York", "America/Sao_Paulo"
DENVER, SYDNEY, LOS_ANGELES = "America/Denver", "Australia/Sydney", "America/Los_Angeles"


@pytest.fixture(scope="module", params=STEMS)
def seed(request: pytest.FixtureRequest) -> SeedFile:
    return SeedFile.load(request.param)


def london(local: str) -> str:
    return wall(local, LONDON)


# --- every file -------------------------------------------------------------------------


def test_one_file_per_seed_vendor_and_nothing_else() -> None:
    files = policy_files(POLICIES_DIR)
    assert sorted(p.stem for p in files) == sorted(STEMS)
    sources = sorted(read_policy_file(p)["source"] for p in files)
    assert [s[:4] for s in sources] == ["000_", "001_", "002_", "003_", "004_"]
    assert all(re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", s) for s in sources)


def test_file_metadata_is_complete(seed: SeedFile) -> None:
    doc = seed.document
    for key in ("vendor", "notes"):
        assert doc[key].strip(), key
    for key in ("calendars", "policies"):
        assert doc[key], key
    for entry in doc["example_values"]:
        assert set(entry) == {"path", "reason"}
        assert entry["reason"].strip()
        assert "\n" not in entry["reason"]


def test_every_example_path_names_something_in_the_file(seed: SeedFile) -> None:
    paths = list(all_paths(seed.document))
    for entry in seed.document["example_values"]:
        assert any(pattern_matches(entry["path"], p) for p in paths), entry["path"]


def test_ids_are_prefixed_with_the_vendor_and_unique_across_files() -> None:
    seen: dict[str, str] = {}
    for stem in STEMS:
        doc = SeedFile.load(stem).document
        for key in [*doc["calendars"], *doc["policies"]]:
            assert key.startswith(f"{stem}-"), key
            assert key not in seen, f"{key} in {stem} and {seen.get(key)}"
            seen[key] = stem


def test_every_plan_refers_to_its_own_files_calendars(seed: SeedFile) -> None:
    for plan in seed.plans.values():
        assert plan.value.referenced_calendars() <= {*seed.calendars, "24x7"}


# Which targets the seed states: the rest must each be labelled as an example.
STATED_TARGETS = {"softwareidm": False, "uk-iam-vendor": True, "isode": True}


@pytest.mark.parametrize("stem", STEMS)
def test_targets_are_labelled_exactly_when_the_seed_gives_no_number(stem: str) -> None:
    doc = SeedFile.load(stem).document
    patterns = [e["path"] for e in doc["example_values"]]
    stated = STATED_TARGETS.get(stem, False)
    for path in target_paths(doc):
        assert is_labelled(patterns, path) is not stated, ".".join(path)


# --- 000 SoftwareIDM: no response time at all ---------------------------------------


def test_softwareidm_says_it_promises_no_response_time() -> None:
    seed = SeedFile.load("softwareidm")
    assert seed.document["notes"].startswith("THE SEED PROMISES NO RESPONSE TIME")
    assert "no response time" in seed.plans["softwareidm-knowledge-package"].value.name


def test_softwareidm_example_goal_in_its_example_hours() -> None:
    seed = SeedFile.load("softwareidm")
    opened = wall("2026-06-01 09:00", LOS_ANGELES)  # Monday
    ticket = Ticket().opened(opened, plan="softwareidm-knowledge-package")
    state = seed.state(ticket, opened)
    assert state.priority == "normal"
    assert [c.metric for c in state.clocks] == ["response"]  # nothing else is even exemplified
    assert seed.due(ticket, opened) == utc(wall("2026-06-02 17:00", LOS_ANGELES))


# --- 001 UK IAM vendor: 08:00-22:00 UK time, urgent round the clock --------------------

UK_PLAN = "uk-iam-vendor-standard"


def test_urgent_runs_round_the_clock() -> None:
    seed = SeedFile.load("uk-iam-vendor")
    ticket = Ticket().opened(london("2026-06-06 03:00"), plan=UK_PLAN, priority="urgent")  # Sat
    clock = seed.clock(ticket, london("2026-06-06 03:30"))
    assert (clock.calendar, clock.due_at) == ("24x7", utc(london("2026-06-06 04:00")))


@pytest.mark.parametrize(
    ("data", "priority"),
    [
        ({"channel": "email"}, "medium"),  # stated: email tickets default to medium
        ({"channel": "email", "kind": "feature_request"}, "low"),  # the feature rule comes first
        ({"channel": "portal", "kind": "feature_request"}, "low"),
        ({"channel": "portal"}, "medium"),  # example: no priority from elsewhere -> medium
        ({"channel": "email", "priority": "high"}, "high"),  # a named priority is kept
    ],
)
def test_initial_priority(data: dict[str, Any], priority: str) -> None:
    seed = SeedFile.load("uk-iam-vendor")
    ticket = Ticket().opened(london("2026-06-01 09:00"), plan=UK_PLAN, **data)
    assert seed.state(ticket, london("2026-06-01 09:00")).priority == priority


@pytest.mark.parametrize(
    ("priority", "opened", "due"),
    [
        ("high", "2026-06-02 21:00", "2026-06-03 11:00"),  # 1h Tuesday evening, 3h Wednesday
        ("high", "2026-06-05 21:00", "2026-06-08 11:00"),  # Friday evening -> Monday
        ("medium", "2026-06-06 12:00", "2026-06-08 16:00"),  # Saturday: from Monday 08:00
        ("low", "2026-06-01 08:00", "2026-06-02 18:00"),  # 24 business hours, not one day
        ("high", "2026-03-27 21:00", "2026-03-30 11:00"),  # across the change to BST
    ],
)
def test_response_targets_on_the_central_teams_hours(priority: str, opened: str, due: str) -> None:
    seed = SeedFile.load("uk-iam-vendor")
    ticket = Ticket().opened(london(opened), plan=UK_PLAN, priority=priority)
    clock = seed.clock(ticket, london(opened))
    assert (clock.calendar, clock.due_at) == ("uk-iam-vendor-central", utc(london(due)))


def test_an_email_marked_urgent_is_raised_by_triage_and_keeps_its_time() -> None:
    seed = SeedFile.load("uk-iam-vendor")
    ticket = (
        Ticket()
        .opened(london("2026-06-05 21:30"), plan=UK_PLAN, channel="email")  # medium
        .priority("urgent", london("2026-06-05 21:45"))
    )
    clock = seed.clock(ticket, london("2026-06-05 21:50"))
    # 15 minutes on the team's hours, then the remaining 45 round the clock.
    assert (clock.calendar, clock.due_at) == ("24x7", utc(london("2026-06-05 22:30")))


def test_uptime_terms_give_the_seeds_credits_and_window() -> None:
    terms = SeedFile.load("uk-iam-vendor").plans[UK_PLAN].value.uptime
    assert terms is not None
    assert [(t.below, t.days) for t in terms.credits] == [(0.999, 7), (0.99, 14)]
    assert terms.claim_within_days == 30
    assert (terms.services, terms.period, terms.timezone) == (
        ("iam-platform",),
        "month",
        LONDON,
    )


# --- 002 Isode: UK office hours, response table, relief 3x response ------------------


@pytest.mark.parametrize(
    ("plan", "priority", "opened", "due"),
    [
        ("isode-silver", "P1", "2026-06-01 10:00", "2026-06-01 14:00"),  # < 4 working hours
        ("isode-silver", "P1", "2026-06-05 15:00", "2026-06-08 11:00"),  # over the weekend
        ("isode-silver", "P1", "2026-03-27 15:00", "2026-03-30 11:00"),  # GMT Friday, BST Monday
        ("isode-silver", "P1", "2026-12-25 10:00", "2026-12-29 13:00"),  # Christmas, Boxing Day
        ("isode-gold", "P3", "2026-06-02 11:00", "2026-06-03 11:00"),  # < 1 working day
        ("isode-gold", "P4", "2026-06-02 11:00", "2026-06-03 11:00"),  # P3/P4 share a row
        ("isode-gold", "P2", "2026-06-02 15:00", "2026-06-03 11:00"),
        ("isode-silver", "P2", "2026-06-02 11:00", "2026-06-03 11:00"),
        ("isode-silver", "P4", "2026-06-02 11:00", "2026-06-04 11:00"),  # < 2 working days
        ("isode-bronze", "P1", "2026-06-02 11:00", "2026-06-03 11:00"),
        ("isode-bronze", "P3", "2026-06-02 11:00", "2026-06-05 11:00"),  # < 3 working days
        ("isode-bronze", "P2", "2026-05-22 11:00", "2026-05-27 11:00"),  # spring bank holiday
    ],
)
def test_isode_response_table(plan: str, priority: str, opened: str, due: str) -> None:
    seed = SeedFile.load("isode")
    ticket = Ticket().opened(london(opened), plan=plan, priority=priority)
    assert seed.due(ticket, london(opened)) == utc(london(due))


def test_isode_christmas_ticket_accrues_nothing_until_the_next_working_day() -> None:
    seed = SeedFile.load("isode")
    ticket = Ticket().opened(london("2026-12-25 10:00"), plan="isode-silver", priority="P1")
    assert seed.clock(ticket, london("2026-12-28 16:00")).elapsed_seconds == 0
    assert seed.clock(ticket, london("2026-12-29 09:30")).elapsed_seconds == 1800


def test_isode_relief_is_three_times_response_with_a_90_percent_objective() -> None:
    seed = SeedFile.load("isode")
    hours = seed.calendars["isode-uk-office"].hours_per_working_day_at(utc("2026-06-01T00:00Z"))
    for plan_id, version in seed.plans.items():
        plan = version.value
        assert plan.metrics["relief"].objective == 0.9
        assert plan.metrics["relief"].pause_when_awaiting_customer is True
        assert plan.metrics["response"].pause_when_awaiting_customer is False
        assert "resolution" not in plan.metrics  # the seed promises no resolution time
        for priority in plan.priorities:
            response, relief = (
                plan.target_for("response", priority),
                plan.target_for("relief", priority),
            )
            assert response is not None, (plan_id, priority)
            assert relief is not None, (plan_id, priority)
            assert relief.seconds(hours) == 3 * response.seconds(hours), (plan_id, priority)


def test_isode_relief_due_in_business_time_and_paused_while_awaiting_customer() -> None:
    seed = SeedFile.load("isode")
    ticket = Ticket().opened(london("2026-06-01 10:00"), plan="isode-silver", priority="P1")
    # 12 business hours: 7 on Monday, 5 on Tuesday.
    assert seed.due(ticket, london("2026-06-01 10:00"), "relief") == utc(london("2026-06-02 14:00"))
    ticket.then("awaiting_customer", london("2026-06-01 12:00"))
    waiting = seed.state(ticket, london("2026-06-01 15:00"))
    relief, response = waiting.clock("relief"), waiting.clock("response")
    assert relief is not None
    assert response is not None
    assert (relief.state, relief.due_at, relief.elapsed_seconds) == (ClockState.PAUSED, None, 7200)
    assert response.due_at == utc(london("2026-06-01 14:00"))  # response does not wait
    ticket.then("customer_replied", london("2026-06-02 10:00"))
    # 2h before the pause; 10h from Tuesday 10:00: 7 on Tuesday, 3 on Wednesday.
    assert seed.due(ticket, london("2026-06-02 10:00"), "relief") == utc(london("2026-06-03 12:00"))


def test_isode_ticket_naming_no_priority_starts_as_p3() -> None:
    seed = SeedFile.load("isode")
    ticket = Ticket().opened(london("2026-06-02 11:00"), plan="isode-silver")
    assert seed.state(ticket, london("2026-06-02 11:00")).priority == "P3"


# --- 003 Konneqt: 8x5 in the customer's local business time ------------------------------


def konneqt_due(region: str, zone: str, opened_local: str, priority: str = "Sev1") -> str:
    seed = SeedFile.load("konneqt")
    opened = wall(opened_local, zone)
    # A contract names the region's calendar; its tickets record it at opening.
    calendar = f"konneqt-{region}"
    ticket = Ticket().opened(opened, plan="konneqt-8x5", priority=priority, calendar=calendar)
    due = seed.due(ticket, opened)
    assert due is not None
    return due.astimezone(utc(opened).tzinfo).isoformat()


def test_konneqt_same_local_times_are_different_instants_by_region() -> None:
    regions = (("us-east", NEW_YORK), ("brazil", SAO_PAULO), ("uk", LONDON))
    dues = {r: utc(konneqt_due(r, z, "2026-06-02 10:00")) for r, z in regions}
    for region, zone in regions:  # Sev1 (example 2h): 12:00 local everywhere ...
        assert dues[region] == utc(wall("2026-06-02 12:00", zone))
    assert len(set(dues.values())) == 3  # ... which is three different instants


def test_konneqt_one_instant_is_inside_hours_in_one_region_and_after_them_in_another() -> None:
    instant = "2026-06-02T20:00:00+00:00"  # 16:00 New York, 21:00 London
    us_east = konneqt_due("us-east", "UTC", "2026-06-02 20:00")
    uk = konneqt_due("uk", "UTC", "2026-06-02 20:00")
    assert utc(instant) < utc(us_east) == utc(wall("2026-06-03 09:00", NEW_YORK))
    assert utc(uk) == utc(wall("2026-06-03 10:00", LONDON))


def test_konneqt_working_day_is_the_whole_local_window() -> None:
    due = konneqt_due("brazil", SAO_PAULO, "2026-06-02 10:00", "Sev3")
    assert utc(due) == utc(wall("2026-06-03 10:00", SAO_PAULO))


def test_konneqt_regional_public_holidays_close_only_their_region() -> None:
    # Tiradentes' Day (Brazil), Tuesday 21 April 2026; an ordinary day in New York.
    brazil = konneqt_due("brazil", SAO_PAULO, "2026-04-21 10:00")
    us_east = konneqt_due("us-east", NEW_YORK, "2026-04-21 10:00")
    assert utc(brazil) == utc(wall("2026-04-22 10:00", SAO_PAULO))
    assert utc(us_east) == utc(wall("2026-04-21 12:00", NEW_YORK))


@pytest.mark.parametrize(
    ("kind", "priority"),
    [
        ("incident", "Sev3"),
        ("query", "Sev4"),
        ("service_request", "Sev3"),
        ("feature_request", "Sev4"),
    ],
)
def test_konneqt_issue_types_are_ticket_kinds(kind: str, priority: str) -> None:
    seed = SeedFile.load("konneqt")
    ticket = Ticket().opened(wall("2026-06-02 10:00", LONDON), plan="konneqt-8x5", kind=kind)
    assert seed.state(ticket, wall("2026-06-02 10:00", LONDON)).priority == priority


def test_konneqt_policy_is_effective_from_july_7_2025_at_the_earliest_regions_midnight() -> None:
    seed = SeedFile.load("konneqt")
    plan = seed.plans["konneqt-8x5"]
    assert plan.effective_from == utc(wall("2025-07-07 00:00", LONDON))
    with pytest.raises(AssertionError, match="no version in effect"):
        seed.plan_at("konneqt-8x5", utc(wall("2025-07-06 23:59", LONDON)))


def test_one_plan_per_level_the_regions_are_calendars_contracts_name() -> None:
    assert set(SeedFile.load("konneqt").plans) == {"konneqt-8x5"}
    ivanti = SeedFile.load("ivanti")
    assert set(ivanti.plans) == {"ivanti-standard", "ivanti-enhanced", "ivanti-premium"}
    assert {"ivanti-americas", "ivanti-emea", "ivanti-apac"} <= set(ivanti.calendars)


def test_ivanti_trm_levels_are_allowance_templates_of_every_plan() -> None:
    for plan in SeedFile.load("ivanti").plans.values():
        templates = plan.value.allowance_templates
        days = {name: (t.amount, t.onsite_cap) for name, t in templates.items()}
        assert days == {
            "trm-basic": (12, 3),
            "trm-premier": (24, 6),
            "trm-enterprise": (48, 12),
            "trm-dedicated": (200, 200),
        }
        assert {t.onsite.min_consecutive_days for t in templates.values() if t.onsite} == {2}


def test_softwareidm_grants_twenty_hours_a_term() -> None:
    plan = SeedFile.load("softwareidm").plans["softwareidm-knowledge-package"].value
    assert [(a.id, a.unit, a.amount) for a in plan.allowances] == [("knowledge-hours", "hours", 20)]


# --- 004 Ivanti: regional business hours, P1 round the clock on Enhanced and Premium -----


def ivanti(plan: str, priority: str, opened: str, zone: str = DENVER) -> tuple[str, str]:
    """``plan`` is ``<level>-<region>``: the level's plan, on a contract naming the region."""
    seed = SeedFile.load("ivanti")
    at = wall(opened, zone)
    level, region = plan.rsplit("-", 1)
    ticket = Ticket().opened(at, plan=level, priority=priority, calendar=f"ivanti-{region}")
    clock = seed.clock(ticket, at)
    assert clock.due_at is not None
    return clock.calendar, clock.due_at.astimezone(utc(at).tzinfo).isoformat()


@pytest.mark.parametrize(
    ("plan", "priority", "calendar", "due"),
    [
        ("ivanti-standard-americas", "P1", "ivanti-americas", "2026-06-08 10:00"),  # Monday
        ("ivanti-enhanced-americas", "P1", "24x7", "2026-06-06 11:00"),  # Saturday itself
        ("ivanti-premium-americas", "P1", "24x7", "2026-06-06 10:30"),
        ("ivanti-premium-americas", "P2", "ivanti-americas", "2026-06-08 09:00"),
        ("ivanti-enhanced-americas", "P2", "ivanti-americas", "2026-06-08 10:00"),
    ],
)
def test_ivanti_p1_runs_round_the_clock_on_enhanced_and_premium_only(
    plan: str, priority: str, calendar: str, due: str
) -> None:
    found = ivanti(plan, priority, "2026-06-06 10:00")  # a Saturday in Denver
    assert (found[0], utc(found[1])) == (calendar, utc(wall(due, DENVER)))


def test_ivanti_p1_on_a_holiday_needs_a_24x7_program() -> None:
    thanksgiving = "2026-11-26 10:00"
    standard = ivanti("ivanti-standard-americas", "P1", thanksgiving)
    enhanced = ivanti("ivanti-enhanced-americas", "P1", thanksgiving)
    assert utc(standard[1]) == utc(wall("2026-11-27 10:00", DENVER))
    assert utc(enhanced[1]) == utc(wall("2026-11-26 11:00", DENVER))


def test_ivanti_regional_holidays_close_only_their_regional_calendar() -> None:
    # US Thanksgiving is a working day in EMEA; ANZAC Day observed closes only APAC.
    emea = ivanti("ivanti-standard-emea", "P1", "2026-11-26 10:00", LONDON)
    assert utc(emea[1]) == utc(wall("2026-11-26 12:00", LONDON))
    apac = ivanti("ivanti-standard-apac", "P1", "2026-04-27 10:00", SYDNEY)
    assert utc(apac[1]) == utc(wall("2026-04-28 10:00", SYDNEY))
    americas = ivanti("ivanti-standard-americas", "P1", "2026-04-27 10:00")
    assert utc(americas[1]) == utc(wall("2026-04-27 12:00", DENVER))


def test_ivanti_p4_covers_enhancement_requests_and_questions() -> None:
    seed = SeedFile.load("ivanti")
    at = wall("2026-06-02 10:00", DENVER)
    for kind, priority in (("feature_request", "P4"), ("query", "P4"), ("incident", "P3")):
        ticket = Ticket().opened(at, plan="ivanti-premium", kind=kind)
        assert seed.state(ticket, at).priority == priority, kind


def test_ivanti_measures_response_only() -> None:
    seed = SeedFile.load("ivanti")
    for plan in seed.plans.values():
        assert [m for m in METRICS if m in plan.value.metrics] == ["response"]
