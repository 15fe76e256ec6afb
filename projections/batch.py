"""A page of the log as the projector takes it: ticket events as facts, by ticket."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.domain import DomainEvent

from domain.contract_events import ContractEvent
from domain.events import CalendarVersionDefined, PolicyVersionDefined, TicketEvent
from projections.facts import FACT_VERSION, Fact, TicketFact, to_fact

Entry = DomainEvent | TicketFact  # a ticket event may come as its fact (read undecoded)
Batch = Sequence[tuple[int, Entry]]


def opens_here(facts: Sequence[Fact]) -> bool:
    """Whether these new facts hold the ticket's first event: a ticket's events are one
    aggregate's (its id is derived from the ticket id), numbered from 1, each once."""
    return any(fact[FACT_VERSION] == 1 for fact in facts)


def ticket_facts(batch: Batch) -> tuple[dict[str, list[Fact]], dict[str, int]] | None:
    """The batch's facts per ticket and each ticket's last position; None when the batch
    holds anything ``apply`` folds besides ticket events (versions, contract events)."""
    touched: dict[str, list[Fact]] = {}
    positions: dict[str, int] = {}
    for position, event in batch:
        if collected(touched, positions, position, event):
            continue
        if isinstance(event, CalendarVersionDefined | PolicyVersionDefined | ContractEvent):
            return None
    return touched, positions


def collected(
    touched: dict[str, list[Fact]], positions: dict[str, int], position: int, event: object
) -> bool:
    """Add a ticket event's fact to its ticket's and note its position; False for any other."""
    if isinstance(event, TicketFact):
        fact = event.fact
    elif isinstance(event, TicketEvent):
        fact = to_fact(event)
    else:
        return False
    touched.setdefault(event.ticket_id, []).append(fact)
    positions[event.ticket_id] = position
    return True
