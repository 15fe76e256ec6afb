"""Claims: what check_claim refuses (422) and the verdicts derived for stored claims."""

from __future__ import annotations

from typing import Any

import pytest

from domain.credits import Claim, Verdict, check_claim, judge_claims
from domain.errors import ValidationFailed
from domain.service_events import ServiceEvent
from domain.uptime import Month, MonthUptime
from tests.unit.uptime_support import LONDON_TERMS, MARCH, claim, march, outage_events, utc

EXAMPLE = outage_events(
    ("2026-03-07T14:00:00+00:00", "2026-03-07T14:50:00+00:00"),
    ("2026-03-20T10:00:00+00:00", "2026-03-20T10:10:00+00:00"),
)
GOOD = {"service": "iam-platform", "period": "2026-03", "evidence": "https://status.example/1.png"}


def bad_fields(
    data: dict[str, Any], at: str = "2026-04-02T00:00:00Z", terms: Any = LONDON_TERMS
) -> set[str]:
    with pytest.raises(ValidationFailed) as caught:
        check_claim(data, terms, utc(at))
    return {e.field for e in caught.value.errors}


def verdicts(claims: list[Claim], events: list[ServiceEvent], at: str) -> list[Verdict]:
    def lookup(service: str, month: Month) -> MonthUptime | None:
        return march(events, utc(at)) if month == MARCH else None

    return judge_claims(claims, lookup)


def test_a_good_claim_passes_and_comes_back_clean() -> None:
    assert check_claim({**GOOD, "note": None}, LONDON_TERMS, utc("2026-04-02T00:00:00Z")) == GOOD


def test_evidence_is_required_and_must_be_text() -> None:
    assert bad_fields({"service": "iam-platform", "period": "2026-03"}) == {"data.evidence"}
    assert bad_fields({**GOOD, "evidence": "  "}) == {"data.evidence"}
    assert bad_fields({**GOOD, "evidence": 7}) == {"data.evidence"}


def test_a_month_not_yet_started_is_refused() -> None:
    # April starts at 23:00Z on 31 March in London.
    assert bad_fields({**GOOD, "period": "2026-04"}, at="2026-03-31T22:59:59Z") == {"data.period"}
    check_claim({**GOOD, "period": "2026-04"}, LONDON_TERMS, utc("2026-03-31T23:00:00Z"))


def test_a_plan_without_uptime_terms_is_refused() -> None:
    assert bad_fields(GOOD, terms=None) == {"data.service"}


def test_unknown_services_fields_and_bad_months_are_refused() -> None:
    assert bad_fields({**GOOD, "service": "other"}) == {"data.service"}
    assert bad_fields({**GOOD, "period": "March"}) == {"data.period"}
    assert bad_fields({**GOOD, "amount": 3}) == {"data.amount"}


def test_the_spec_example_credited_until_the_deadline_refused_on_8_april() -> None:
    on_deadline = claim(utc("2026-04-06T13:50:00Z"))
    (credited,) = verdicts([on_deadline], EXAMPLE, "2026-04-10T00:00:00Z")
    assert (credited.verdict, credited.reason, credited.days) == ("credited", None, 7)
    (late,) = verdicts([claim(utc("2026-04-08T09:00:00Z"))], EXAMPLE, "2026-04-10T00:00:00Z")
    assert (late.verdict, late.reason, late.days) == ("refused", "window_closed", 0)
    (just_late,) = verdicts([claim(utc("2026-04-06T13:50:01Z"))], EXAMPLE, "2026-04-10T00:00:00Z")
    assert just_late.reason == "window_closed"


def test_a_second_claim_for_the_same_month_is_a_duplicate_whatever_the_first_verdict() -> None:
    early = claim(utc("2026-03-05T00:00:00Z"))  # before any failure: no_failure
    again = claim(utc("2026-03-10T00:00:00Z"))
    first, second = verdicts([again, early], EXAMPLE, "2026-04-10T00:00:00Z")
    assert (first.claim, first.reason) == (early, "no_failure")
    assert (second.claim, second.reason) == (again, "duplicate")


def test_no_failure_when_the_month_passed_every_tier() -> None:
    quiet = outage_events(("2026-03-07T14:00:00Z", "2026-03-07T14:10:00Z"))
    (verdict,) = verdicts([claim(utc("2026-04-02T00:00:00Z"))], quiet, "2026-04-10T00:00:00Z")
    assert verdict.reason == "no_failure"


def test_a_late_outage_event_changes_the_verdict() -> None:
    quiet = outage_events(("2026-03-07T14:00:00Z", "2026-03-07T14:10:00Z"))
    made = claim(utc("2026-04-02T00:00:00Z"))
    assert verdicts([made], quiet, "2026-04-10T00:00:00Z")[0].reason == "no_failure"
    later = outage_events(
        ("2026-03-07T14:00:00Z", "2026-03-07T14:10:00Z"),
        ("2026-03-25T00:00:00Z", "2026-03-25T12:00:00Z"),
    )
    (verdict,) = verdicts([made], later, "2026-04-10T00:00:00Z")
    assert (verdict.verdict, verdict.days) == ("credited", 14)


def test_a_claim_during_the_tipping_outage_is_credited() -> None:
    ongoing = outage_events(("2026-03-07T14:00:00Z", None))
    (verdict,) = verdicts([claim(utc("2026-03-07T15:00:00Z"))], ongoing, "2026-03-07T15:00:00Z")
    assert (verdict.verdict, verdict.days) == ("credited", 7)


def test_a_month_the_contract_was_not_active_earns_nothing() -> None:
    (verdict,) = verdicts(
        [claim(utc("2026-05-02T00:00:00Z"), Month(2026, 4))], EXAMPLE, "2026-05-05T00:00:00Z"
    )
    assert verdict.reason == "no_failure"
