"""The answers to a committed group: a receipt for each event stored, and for each
retry the receipt its first commit got."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.contract_events import ContractEvent
from domain.events import CalendarVersionDefined, PolicyVersionDefined, TicketEvent
from domain.service_events import ServiceEvent
from service.catalog import Catalog
from service.contract_ingest import ContractReceipt
from service.ingest import Decision, IngestRules, Prepared, Receipt, RetryOf, VersionReceipt
from service.outage_ingest import ServiceRetryOf, fresh_receipt
from service.storage.writer_requests import Answer, Unit


class Receipts:
    def __init__(self, rules: IngestRules, catalog: Catalog) -> None:
        self._rules = rules
        self._catalog = catalog

    def of_group(
        self, decided: list[tuple[Unit, Decision]], by_event: dict[int, int]
    ) -> list[tuple[Unit, Answer]]:
        """Each decided unit's answer, its group stored (``by_event``: event id to position)."""
        fresh: dict[tuple[str, int], Receipt | ContractReceipt] = {}
        answers: list[tuple[Unit, Answer]] = []
        for unit, decision in decided:
            if isinstance(decision, Prepared):
                answer = self._fresh(decision, by_event[id(decision.event)])
                if isinstance(answer, Receipt | ContractReceipt):
                    fresh[(type(answer).__name__ + ":" + answer[0], answer.version)] = answer
                answers.append((unit, answer))
        for unit, decision in decided:
            if isinstance(decision, RetryOf):
                kind = "ContractReceipt:" if decision.aggregate == "contract" else "Receipt:"
                first = fresh.get((kind + decision.ticket_id, decision.version))
                answers.append((unit, self._retry(decision, first)))
            elif isinstance(decision, VersionReceipt):
                answers.append((unit, decision))
            elif isinstance(decision, ServiceRetryOf):
                answers.append((unit, self._rules.services.receipt_of(decision)))
        return answers

    def _fresh(self, decision: Prepared, position: int) -> Answer:
        event = decision.event
        if isinstance(event, TicketEvent):
            self._rules.note_stored(event, position)
            return Receipt(event.ticket_id, *_first_stored(event, position), created=True)
        if isinstance(event, ServiceEvent):
            return fresh_receipt(event, position)
        if isinstance(event, ContractEvent):
            return ContractReceipt(event.contract_id, *_first_stored(event, position), created=True)
        if isinstance(event, CalendarVersionDefined):
            self._catalog.calendar_versions(event.calendar_id, refresh=True)
            return self._version_receipt("calendar", event.calendar_id, event.originator_version)
        assert isinstance(event, PolicyVersionDefined)
        self._catalog.policy_versions(event.plan_id, refresh=True)
        return self._version_receipt("policy", event.plan_id, event.originator_version)

    def _version_receipt(self, kind: Any, key: str, number: int) -> VersionReceipt:
        versions = (
            self._catalog.calendar_versions(key, refresh=False)
            if kind == "calendar"
            else self._catalog.policy_versions(key, refresh=False)
        )
        version = next(v for v in versions if v.number == number)
        return VersionReceipt(kind, key, number, version.effective_from, created=True)

    def _retry(
        self, decision: RetryOf, first: Receipt | ContractReceipt | None
    ) -> Receipt | ContractReceipt:
        if first is not None:
            return first._replace(created=False)
        return self._rules.retry_receipt(decision)


def _first_stored(
    event: TicketEvent | ContractEvent, position: int
) -> tuple[str, int, int, datetime]:
    """A receipt's event id, version, position and time, as its first commit stored them."""
    return (event.event_id, event.originator_version, position, event.timestamp)
