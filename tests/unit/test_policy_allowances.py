"""Plans granting allowances and offering templates; the contract calendar in the order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.errors import ValidationFailed
from domain.policy import parse_policy, policy_document

BASE: dict[str, Any] = {
    "name": "P",
    "calendar": "plan-cal",
    "priorities": ["P1", "P2"],
    "default_priority": "P2",
    "calendar_overrides": {"P1": "24x7"},
    "metrics": {"response": {"targets": {"P1": {"hours": 1}, "P2": {"hours": 4}}}},
}


def test_allowances_and_templates_round_trip_through_the_document() -> None:
    doc = {
        **BASE,
        "allowances": [{"id": "hours", "unit": "hours", "amount": 20}],
        "allowance_templates": {
            "trm": {
                "unit": "days",
                "amount": 24,
                "onsite": {"max_share": 0.25, "min_consecutive_days": 2},
            }
        },
    }
    policy = parse_policy(doc)
    assert policy.allowances[0].amount == Decimal(20)
    assert policy.allowance_templates["trm"].onsite_cap == Decimal(6)
    assert parse_policy(policy_document(policy)) == policy


def test_a_plan_without_allowances_reads_as_before() -> None:
    assert "allowances" not in policy_document(parse_policy(BASE))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"allowances": [{"id": "h", "unit": "minutes", "amount": 1}]}, "allowances[0].unit"),
        ({"allowances": [{"id": "h", "unit": "hours", "amount": 0}]}, "allowances[0].amount"),
        ({"allowances": [{"id": "h", "unit": "hours", "amount": 1, "onsite": {"max_share": 0.5}}]},
         "allowances[0].onsite"),
        ({"allowance_templates": {"t": {"unit": "days", "amount": 1, "overdraw": "maybe"}}},
         "allowance_templates.t.overdraw"),
    ],
)  # fmt: skip
def test_bad_allowances_name_the_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_policy({**BASE, **extra})
    assert field in {e.field for e in refused.value.errors}


def test_calendar_order_override_then_contract_then_plan() -> None:
    policy = parse_policy(BASE)
    assert policy.calendar_for("P1", "region") == "24x7"
    assert policy.calendar_for("P2", "region") == "region"
    assert policy.calendar_for("P2") == "plan-cal"
