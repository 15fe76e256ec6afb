"""Allowance balances on random histories: no overdraw, and the balance is grant minus entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.allowances import reports_at
from domain.contract_events import ContractEventType
from domain.errors import Conflict
from tests.unit.test_contract_rules import Contract

T = ContractEventType
START = datetime(2026, 3, 15, 16, tzinfo=UTC)  # the contract's start, 09:00 in Los Angeles
GRANT = Decimal(20)

entry = st.tuples(
    st.integers(min_value=0, max_value=700 * 24),  # hours after the start: two terms
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(12), places=2),
    st.booleans(),  # retract it afterwards
)


@settings(max_examples=60, deadline=None)
@given(st.lists(entry, max_size=25))
def test_refused_entries_never_overdraw_and_balances_add_up(
    entries: list[tuple[int, Decimal, bool]],
) -> None:
    contract = Contract([{"id": "h", "unit": "hours", "amount": "20"}], auto_renew=True)
    kept: list[tuple[datetime, Decimal]] = []
    for hours, amount, retract in entries:
        at = START + timedelta(hours=hours, minutes=1)
        try:
            logged = contract.log(at.isoformat(), str(amount), "h")
        except Conflict:
            k = contract.state.term_at(at)
            assert k is not None
            spent = sum((a for t, a in kept if contract.state.term_at(t) == k), Decimal(0))
            assert spent + amount > GRANT  # refused only when it would overdraw
            continue
        if retract:
            contract.record(T.WORK_RETRACTED, at.isoformat(), {"event_id": logged, "reason": "r"})
        else:
            kept.append((at, amount))
    for k in (0, 1):
        end = contract.state.term_bounds(k)[1]
        (report,) = reports_at(contract.state, k, end)
        in_term = [a for t, a in kept if contract.state.term_at(t) == k]
        assert report.used == sum(in_term, Decimal(0))
        assert report.balance == GRANT - report.used >= 0
        assert report.forfeited == report.balance
