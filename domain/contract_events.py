"""Stored contract events: the facts of a customer's contract, as posted.

These classes are a stored contract, like the ticket events (their topics are
written into the event store): never rename or remove one; add an upcast
instead. A contract's events have the ticket events' envelope: ``event_id``,
``occurred_at`` (the client's instant, UTC), the validated ``data`` and the
``fingerprint`` of the posted body; ``timestamp`` is when the service recorded
it. Balances, terms, statuses and suspensions are derived from them, never
stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import DomainEvent

from domain.events import NAMESPACE


class ContractEventType(StrEnum):
    STARTED = "contract_started"
    AMENDED = "contract_amended"
    RENEWAL_CANCELLED = "renewal_cancelled"
    ENDED = "contract_ended"
    WORK_LOGGED = "work_logged"
    WORK_RETRACTED = "work_retracted"
    SLA_SUSPENDED = "sla_suspended"
    SLA_REINSTATED = "sla_reinstated"
    CREDIT_CLAIMED = "credit_claimed"


def contract_uuid(contract_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"contract:{contract_id}")


def customer_uuid(customer: str) -> uuid.UUID:
    """The id of a customer's index of contracts (which contracts name the customer)."""
    return uuid.uuid5(NAMESPACE, f"customer:{customer}")


def directory_uuid() -> uuid.UUID:
    """The id of the directory of every contract (``CustomerContractListed`` events too)."""
    return uuid.uuid5(NAMESPACE, "contracts:directory")


@dataclass(frozen=True)
class ContractEvent(DomainEvent):
    """Base of every contract event. ``timestamp`` is when the service recorded it."""

    contract_id: str
    event_id: str
    occurred_at: datetime
    data: dict[str, Any]
    fingerprint: str

    @property
    def type(self) -> ContractEventType:
        return _TYPE_OF_CLASS[type(self)]

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp


@dataclass(frozen=True)
class ContractStarted(ContractEvent):
    pass


@dataclass(frozen=True)
class ContractAmended(ContractEvent):
    pass


@dataclass(frozen=True)
class RenewalCancelled(ContractEvent):
    pass


@dataclass(frozen=True)
class ContractEnded(ContractEvent):
    pass


@dataclass(frozen=True)
class WorkLogged(ContractEvent):
    pass


@dataclass(frozen=True)
class WorkRetracted(ContractEvent):
    pass


@dataclass(frozen=True)
class SlaSuspended(ContractEvent):
    pass


@dataclass(frozen=True)
class SlaReinstated(ContractEvent):
    pass


@dataclass(frozen=True)
class CreditClaimed(ContractEvent):
    pass


@dataclass(frozen=True)
class CustomerContractListed(DomainEvent):
    """A customer's index learned of a contract naming it (stored with its start)."""

    customer: str
    contract_id: str


CONTRACT_CLASS_OF_TYPE: dict[ContractEventType, type[ContractEvent]] = {
    ContractEventType.STARTED: ContractStarted,
    ContractEventType.AMENDED: ContractAmended,
    ContractEventType.RENEWAL_CANCELLED: RenewalCancelled,
    ContractEventType.ENDED: ContractEnded,
    ContractEventType.WORK_LOGGED: WorkLogged,
    ContractEventType.WORK_RETRACTED: WorkRetracted,
    ContractEventType.SLA_SUSPENDED: SlaSuspended,
    ContractEventType.SLA_REINSTATED: SlaReinstated,
    ContractEventType.CREDIT_CLAIMED: CreditClaimed,
}
_TYPE_OF_CLASS = {cls: kind for kind, cls in CONTRACT_CLASS_OF_TYPE.items()}
