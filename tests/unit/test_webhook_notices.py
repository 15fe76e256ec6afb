"""Contract notices, pure parts: when an allowance is low, what each notice's key names,
and which subscriptions a contract's event reaches."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.allowances import AllowanceReport
from domain.webhooks.kinds import Kind
from domain.webhooks.notices import ClaimableCredit, allowance_low, credit_claimable
from projections.webhooks.subscriptions import Subscription

EXPIRES = datetime(2027, 3, 15, 7, tzinfo=UTC)


def report(used: str, term: int = 0, granted: str = "20") -> AllowanceReport:
    return AllowanceReport(
        "hours", "hours", term, Decimal(granted), Decimal(used), Decimal(0), EXPIRES, None
    )


def test_an_allowance_is_low_only_under_a_fifth_of_its_grant() -> None:
    assert allowance_low("c", "acme", "gold", report("16")) is None  # 4 of 20 left: 20%
    low = allowance_low("c", "acme", "gold", report("16.01"))
    assert low is not None
    assert low.kind is Kind.ALLOWANCE_LOW
    assert low.body_data() == {
        "contract_id": "c",
        "customer": "acme",
        "plan": "gold",
        "allowance": "hours",
        "unit": "hours",
        "term": 0,
        "granted": 20.0,
        "used": 16.01,
        "balance": 3.99,
        "expires_at": "2027-03-15T07:00:00Z",
    }
    overdrawn = allowance_low("c", "acme", "gold", report("25"))
    assert overdrawn is not None
    assert overdrawn.body_data()["balance"] == -5.0


def test_a_notice_is_the_same_fact_while_it_holds_and_a_new_one_next_term() -> None:
    first = allowance_low("c", "acme", "gold", report("17"))
    later = allowance_low("c", "acme", "gold", report("19"))
    next_term = allowance_low("c", "acme", "gold", report("17", term=1))
    assert first is not None
    assert later is not None
    assert next_term is not None
    assert first.key == later.key
    assert next_term.key != first.key


def test_a_deeper_tier_is_a_new_credit_notice() -> None:
    tipped = datetime(2026, 3, 7, 14, 44, 34, tzinfo=UTC)
    shallow = ClaimableCredit("iam", "2026-03", 0.998, 7, 0.999, tipped, None)
    deep = ClaimableCredit("iam", "2026-03", 0.98, 14, 0.99, tipped, None)
    first = credit_claimable("c", "acme", "gold", shallow)
    assert first.kind is Kind.CREDIT_CLAIMABLE
    assert first.key != credit_claimable("c", "acme", "gold", deep).key
    assert first.body_data()["tipping_at"] == "2026-03-07T14:44:34Z"
    assert first.body_data()["claim_deadline"] is None  # the tipping outage still lasts


def test_filters_apply_to_the_fields_the_subject_has() -> None:
    kinds = frozenset({"allowance_low", "breached"})
    sub = Subscription(
        "wh", "http://x/h", kinds, {"customer": frozenset({"acme"}), "priority": frozenset({"p1"})}
    )
    low = allowance_low("c", "acme", "gold", report("19"))
    assert low is not None
    assert sub.accepts("allowance_low", low.subject)  # a contract has no priority
    other = allowance_low("c", "globex", "gold", report("19"))
    assert other is not None
    assert not sub.accepts("allowance_low", other.subject)
    clock = {"plan": "gold", "customer": None, "priority": "p1"}
    assert not sub.accepts("breached", clock)  # a clock with no customer matches no customer
    assert sub.accepts("breached", {**clock, "customer": "acme"})
    assert not sub.accepts("met", {**clock, "customer": "acme"})
