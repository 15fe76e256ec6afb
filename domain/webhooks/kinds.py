"""The kinds of webhook event, and which of them slaclock emits."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    BREACH_RETRACTED = "breach_retracted"
    ALLOWANCE_LOW = "allowance_low"
    CREDIT_CLAIMABLE = "credit_claimable"


# Derived from clock rows as the projections change them, or at their instants.
EMITTED: frozenset[Kind] = frozenset({Kind.AT_RISK, Kind.BREACHED, Kind.MET, Kind.BREACH_RETRACTED})
# Named by the API, not emitted yet: a subscription asking for them is refused rather
# than left waiting for events that never come.
NOT_YET_EMITTED: frozenset[Kind] = frozenset({Kind.ALLOWANCE_LOW, Kind.CREDIT_CLAIMABLE})
