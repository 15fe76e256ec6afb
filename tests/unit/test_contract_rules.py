"""The contract's write-side rules and allowance balances, on events built in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.allowances import check_work, past_terms, reports_at
from domain.contract import ContractState, NewContractEvent, check_order, check_retry
from domain.contract_events import (
    CONTRACT_CLASS_OF_TYPE,
    ContractEvent,
    ContractEventType,
    contract_uuid,
)
from domain.contract_payloads import validate_contract_data
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.events import fingerprint

T = ContractEventType
HOURS = {"id": "knowledge-hours", "unit": "hours", "amount": "20"}
TRM = {
    "id": "trm-days",
    "unit": "days",
    "amount": "24",
    "onsite": {"max_share": "0.25", "min_consecutive_days": 2},
}
TERM = {"start": "2026-03-15", "months": 12, "timezone": "America/Los_Angeles"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class Contract:
    """A contract's events, recorded one after the other as the writer would."""

    def __init__(self, granted: list[dict[str, Any]], **term: Any) -> None:
        self.state = ContractState("c-1")
        self.record(
            T.STARTED,
            "2026-03-15T09:00:00-07:00",
            {"customer": "acme", "plan": "p", "term": {**TERM, **term}, "granted": granted},
        )

    def command(
        self, kind: T, when: str, data: dict[str, Any], event_id: str = ""
    ) -> NewContractEvent:
        clean = validate_contract_data(kind, {k: v for k, v in data.items() if k != "granted"})
        clean.update({k: v for k, v in data.items() if k == "granted"})
        event_id = event_id or f"e{self.state.version + 1}"
        digest = fingerprint(kind.value, at(when), clean)
        return NewContractEvent("c-1", event_id, kind, at(when), clean, digest)

    def record(self, kind: T, when: str, data: dict[str, Any], event_id: str = "") -> str:
        command = self.command(kind, when, data, event_id)
        if check_retry(self.state, command) is None:
            check_order(self.state, command)
            if kind is T.WORK_LOGGED:
                check_work(self.state, command)
            self.state.apply(event_of(command, self.state.version + 1))
        return command.event_id

    def log(self, when: str, amount: str, allowance: str = "knowledge-hours", **more: Any) -> str:
        return self.record(T.WORK_LOGGED, when, {"allowance": allowance, "amount": amount, **more})

    def report(self, when: str) -> dict[str, Decimal]:
        k = self.state.term_at(at(when))
        assert k is not None
        return {r.id: r.balance for r in reports_at(self.state, k, at(when))}


def event_of(command: NewContractEvent, version: int) -> ContractEvent:
    cls = CONTRACT_CLASS_OF_TYPE[command.type]
    return cls(
        originator_id=contract_uuid(command.contract_id),
        originator_version=version,
        timestamp=datetime.now(UTC),
        contract_id=command.contract_id,
        event_id=command.event_id,
        occurred_at=command.occurred_at,
        data=command.data,
        fingerprint=command.fingerprint,
    )


def test_softwareidm_worked_example() -> None:
    contract = Contract([HOURS])
    contract.log("2026-05-02T10:00:00-07:00", "6.5")
    contract.log("2026-11-20T10:00:00-08:00", "10")
    assert contract.report("2026-12-01T00:00:00-08:00") == {"knowledge-hours": Decimal("3.5")}
    with pytest.raises(Conflict, match=r"3\.5 hours left"):
        contract.log("2027-01-10T10:00:00-08:00", "4")
    end = at("2027-03-15T00:00:00-07:00")
    assert contract.state.end_at() == end
    assert contract.state.term_at(end) is None
    (past,) = past_terms(contract.state, end)
    (report,) = reports_at(contract.state, past, end)
    assert report.forfeited == Decimal("3.5")


def test_the_balance_at_as_of_counts_only_entries_that_occurred_by_then() -> None:
    contract = Contract([HOURS])
    contract.log("2026-05-02T10:00:00-07:00", "6.5")
    assert contract.report("2026-05-01T00:00:00-07:00") == {"knowledge-hours": Decimal(20)}


def test_a_late_entry_lands_in_the_term_of_its_occurred_at() -> None:
    contract = Contract([HOURS], auto_renew=True)
    contract.log("2027-04-01T10:00:00-07:00", "15")
    contract.log("2026-04-01T10:00:00-07:00", "15")  # recorded later, in the first term
    assert contract.report("2027-03-01T00:00:00-08:00") == {"knowledge-hours": Decimal(5)}
    assert contract.report("2027-05-01T00:00:00-07:00") == {"knowledge-hours": Decimal(5)}


def test_each_term_is_granted_afresh_and_nothing_carries_over() -> None:
    contract = Contract([HOURS], auto_renew=True)
    contract.log("2026-04-01T10:00:00-07:00", "1")
    assert contract.report("2027-03-15T00:00:00-07:00") == {"knowledge-hours": Decimal(20)}
    (report,) = reports_at(contract.state, 0, at("2027-03-15T00:00:00-07:00"))
    assert report.forfeited == Decimal(19)


def test_overdraw_allowed_goes_negative_and_is_flagged() -> None:
    contract = Contract([{**HOURS, "overdraw": "allow"}])
    contract.log("2026-05-02T10:00:00-07:00", "25")
    (report,) = reports_at(contract.state, 0, at("2026-06-01T00:00:00-07:00"))
    assert report.balance == Decimal(-5)
    assert report.overdrawn


def test_a_retracted_entry_no_longer_counts_and_frees_its_amount() -> None:
    contract = Contract([HOURS])
    logged = contract.log("2026-05-02T10:00:00-07:00", "20")
    contract.record(
        T.WORK_RETRACTED, "2026-05-03T10:00:00-07:00", {"event_id": logged, "reason": "typo"}
    )
    assert contract.report("2026-06-01T00:00:00-07:00") == {"knowledge-hours": Decimal(20)}
    contract.log("2026-05-04T10:00:00-07:00", "20")
    with pytest.raises(Conflict, match="already retracted"):
        contract.record(
            T.WORK_RETRACTED, "2026-05-05T10:00:00-07:00", {"event_id": logged, "reason": "x"}
        )


def test_retracting_what_is_not_a_work_logged_of_this_contract_is_422() -> None:
    contract = Contract([HOURS])
    with pytest.raises(ValidationFailed, match="not a work_logged"):
        contract.record(
            T.WORK_RETRACTED, "2026-05-03T10:00:00-07:00", {"event_id": "e1", "reason": "r"}
        )


def test_ivanti_onsite_six_of_twenty_four_days_in_blocks_of_two() -> None:
    contract = Contract([TRM])
    with pytest.raises(ValidationFailed, match="at least 2 consecutive"):
        contract.log("2026-04-01T10:00:00-07:00", "1", "trm-days", onsite=True)
    contract.log("2026-04-01T10:00:00-07:00", "2", "trm-days", onsite=True)
    contract.log("2026-05-01T10:00:00-07:00", "4", "trm-days", onsite=True)
    with pytest.raises(Conflict, match="allows 6 onsite days"):
        contract.log("2026-06-01T10:00:00-07:00", "2", "trm-days", onsite=True)
    contract.log("2026-06-01T10:00:00-07:00", "2", "trm-days")  # remote days still count
    (report,) = reports_at(contract.state, 0, at("2026-07-01T00:00:00-07:00"))
    assert (report.used, report.onsite_used, report.balance) == (8, 6, 16)


def test_onsite_fractions_are_refused_as_input() -> None:
    with pytest.raises(ValidationFailed, match="whole days"):
        validate_contract_data(T.WORK_LOGGED, {"allowance": "a", "amount": 2.5, "onsite": True})


@pytest.mark.parametrize("amount", [0, -1, "0.001", 1.005, "abc", True, None, "NaN"])
def test_bad_amounts_are_422(amount: object) -> None:
    with pytest.raises(ValidationFailed, match=r"data\.amount"):
        validate_contract_data(T.WORK_LOGGED, {"allowance": "a", "amount": amount})


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10000), places=2))
def test_amounts_with_two_decimals_round_trip_exactly(amount: Decimal) -> None:
    clean = validate_contract_data(T.WORK_LOGGED, {"allowance": "a", "amount": str(amount)})
    assert Decimal(clean["amount"]) == amount


def test_unknown_allowance_is_422() -> None:
    contract = Contract([HOURS])
    with pytest.raises(ValidationFailed, match="not an allowance of this contract"):
        contract.log("2026-05-02T10:00:00-07:00", "1", "trm-days")


def test_work_after_the_contract_ended_is_422() -> None:
    contract = Contract([HOURS])
    with pytest.raises(ValidationFailed, match="no term in effect"):
        contract.log("2027-03-15T00:00:00-07:00", "1")


def test_order_rules_404_409_422_and_retries() -> None:
    contract = Contract([HOURS])
    fresh = ContractState("c-2")
    with pytest.raises(NotFound):
        check_order(fresh, contract.command(T.ENDED, "2026-04-01T00:00:00Z", {}))
    with pytest.raises(Conflict, match="already started"):
        check_order(
            contract.state,
            contract.command(
                T.STARTED,
                "2026-04-01T00:00:00Z",
                {"customer": "acme", "plan": "p", "term": TERM},
                "other",
            ),
        )
    with pytest.raises(ValidationFailed, match="before the contract's start"):
        check_order(contract.state, contract.command(T.ENDED, "2026-03-01T00:00:00Z", {}))
    logged = contract.log("2026-05-02T10:00:00-07:00", "1")
    same = contract.command(
        T.WORK_LOGGED,
        "2026-05-02T10:00:00-07:00",
        {"allowance": "knowledge-hours", "amount": "1.00"},
        logged,
    )
    assert check_retry(contract.state, same) is not None
    other = contract.command(
        T.WORK_LOGGED,
        "2026-05-02T10:00:00-07:00",
        {"allowance": "knowledge-hours", "amount": "2"},
        logged,
    )
    with pytest.raises(Conflict, match="different body"):
        check_retry(contract.state, other)


def test_suspension_marks_apply_instant_by_instant() -> None:
    contract = Contract([])
    contract.record(T.SLA_SUSPENDED, "2026-04-01T00:00:00Z", {"reason": "non-compliance"})
    contract.record(T.SLA_REINSTATED, "2026-04-10T00:00:00Z", {})
    assert not contract.state.suspended_at(at("2026-03-31T00:00:00Z"))
    assert contract.state.suspended_at(at("2026-04-05T00:00:00Z"))
    assert not contract.state.suspended_at(at("2026-04-10T00:00:00Z"))


def test_credit_claims_need_evidence_and_a_month() -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate_contract_data(
            T.CREDIT_CLAIMED, {"service": "iam", "period": "2026-13", "evidence": ""}
        )
    assert {e.field for e in refused.value.errors} == {"data.period", "data.evidence"}


def test_a_contract_whose_term_is_over_before_it_starts_is_422() -> None:
    contract = Contract([])
    late = ContractState("c-9")
    old = {"customer": "a", "plan": "p", "term": {**TERM, "start": "2020-01-01"}}
    with pytest.raises(ValidationFailed, match="ends before"):
        check_order(late, contract.command(T.STARTED, "2026-01-01T00:00:00Z", old))
