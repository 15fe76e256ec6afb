"""The application service: commands in, answers out; no HTTP, no SQL.

Reads are computed from the ticket's own events, so a ticket read is always
consistent with what was written (projections may lag; this never does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from domain.business_time import to_us
from domain.calendar import ALWAYS_OPEN, ALWAYS_OPEN_ID, calendar_document
from domain.clocks import Clock, ContractContext, TicketState, evaluate
from domain.contract_events import ContractEvent, contract_uuid
from domain.contract_timeline import clock_context, contract_occurrence_of
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.events import (
    TicketEvent,
    TicketOpened,
    check_sequence,
    fingerprint,
    parse_event_type,
    ticket_uuid,
    validate_data,
)
from domain.instants import to_utc
from domain.ticket import NewTicketEvent
from domain.versions import Version, in_effect_at, known_at
from projections.rawfacts import CONTRACT_TOPICS
from service.catalog import Catalog
from service.contracts import ContractService
from service.ingest import CatalogKind, Receipt, VersionReceipt, validated_version
from service.storage.eventstore import EventStore, RecordedEvent
from service.storage.writer import Answer, Writer, utc_now


class EventInput(NamedTuple):
    """One ticket event as a client posted it (shape already checked by the HTTP layer)."""

    ticket_id: str
    event_id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    sequence: Any = None  # checked by to_command: the fast lane passes the raw value


@dataclass(frozen=True)
class VersionView:
    kind: CatalogKind
    key: str
    number: int
    effective_from: datetime | None
    recorded_at: datetime
    document: dict[str, Any]


BUILT_IN_AT = datetime(1970, 1, 1, tzinfo=UTC)


def to_command(item: EventInput) -> NewTicketEvent:
    """Validate one event and turn it into a command for the writer."""
    event_type = parse_event_type(item.type)
    occurred_at = to_utc(item.occurred_at)
    data = validate_data(event_type, item.data)
    sequence = item.sequence
    if sequence is not None:
        sequence = check_sequence(sequence)
    digest = fingerprint(event_type.value, occurred_at, data, sequence)
    return NewTicketEvent(
        item.ticket_id, item.event_id, event_type, occurred_at, data, digest, sequence
    )


class SlaService:
    def __init__(
        self,
        store: EventStore,
        catalog: Catalog,
        writer: Writer,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.writer = writer
        self._clock = clock
        self.contracts = ContractService(store, writer, clock)

    # --- writes --------------------------------------------------------------

    async def record_event(self, item: EventInput) -> Receipt:
        (answer,) = await self.writer.submit([to_command(item)])
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, Receipt)
        return answer

    async def record_batch(
        self, items: Sequence[EventInput | Exception]
    ) -> list[Receipt | Exception]:
        """Each item on its own, in order: a bad item answers for itself only."""
        commands: list[NewTicketEvent | Exception] = []
        for item in items:
            try:
                commands.append(item if isinstance(item, Exception) else to_command(item))
            except ValidationFailed as error:
                commands.append(error)
        valid = [c for c in commands if isinstance(c, NewTicketEvent)]
        answered: list[Answer | Exception] = await self.writer.submit(valid)
        answers = iter(answered)
        results: list[Receipt | Exception] = []
        for command in commands:
            answer = command if isinstance(command, Exception) else next(answers)
            assert isinstance(answer, Receipt | Exception)
            results.append(answer)
        return results

    async def define_version(
        self, kind: CatalogKind, key: str, document: dict[str, Any], effective_from: datetime | None
    ) -> VersionReceipt:
        if kind == "calendar" and key == ALWAYS_OPEN_ID:
            raise Conflict(f"calendar {ALWAYS_OPEN_ID!r} is built in and cannot be redefined")
        given = to_utc(effective_from, "effective_from") if effective_from else None
        # Validated on a worker thread: neither the event loop nor the writer waits for it.
        command = await asyncio.to_thread(validated_version, kind, key, document, given)
        (answer,) = await self.writer.submit([command])
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, VersionReceipt)
        return answer

    # --- catalog reads -------------------------------------------------------

    def versions(self, kind: CatalogKind, key: str) -> list[VersionView]:
        found: Sequence[Version[Any]] = (
            self.catalog.calendar_versions(key)
            if kind == "calendar"
            else self.catalog.policy_versions(key)
        )
        if not found:
            raise NotFound(f"{kind} {key!r} does not exist")
        return [
            VersionView(
                kind,
                key,
                v.number,
                v.effective_from,
                v.recorded_at,
                self.catalog.document(kind, key, v.number),
            )
            for v in sorted(found, key=lambda v: v.number)
        ]

    def calendar_version(self, calendar_id: str, number: int | None) -> VersionView:
        if calendar_id == ALWAYS_OPEN_ID and number in (None, 1):
            document = calendar_document(ALWAYS_OPEN)
            return VersionView("calendar", calendar_id, 1, None, BUILT_IN_AT, document)
        return self.version("calendar", calendar_id, number)

    def version(self, kind: CatalogKind, key: str, number: int | None) -> VersionView:
        views = self.versions(kind, key)
        if number is None:
            return views[-1]
        for view in views:
            if view.number == number:
                return view
        raise NotFound(f"{kind} {key!r} has no version {number}")

    # --- ticket reads --------------------------------------------------------

    def history(self, ticket_id: str, as_known_at: datetime | None = None) -> list[RecordedEvent]:
        recorded = self.store.aggregate_events(ticket_uuid(ticket_id))
        if not recorded:
            raise NotFound(f"ticket {ticket_id!r} was never opened")
        cutoff = to_utc(as_known_at, "as_known_at") if as_known_at else None
        return [r for r in recorded if cutoff is None or r.event.timestamp <= cutoff]

    def ticket(
        self,
        ticket_id: str,
        as_of: datetime | None = None,
        as_known_at: datetime | None = None,
        *,
        with_segments: bool = False,
    ) -> TicketState:
        known = to_utc(as_known_at, "as_known_at") if as_known_at else None
        events = [r.event for r in self.history(ticket_id, known)]
        ticket_events = [e for e in events if isinstance(e, TicketEvent)]
        opened = next((e for e in ticket_events if isinstance(e, TicketOpened)), None)
        if opened is None:
            raise NotFound(f"ticket {ticket_id!r} was not yet recorded at as_known_at")
        at = self._evaluation_instant(as_of, known)
        policy = self._policy_for(opened, known)
        return evaluate(
            ticket_id,
            ticket_events,
            policy,
            lambda calendar_id: self.catalog.timeline(calendar_id, known),
            at,
            with_segments=with_segments,
            contract=self._contract_context(opened, known),
        )

    def _contract_context(
        self, opened: TicketOpened, known: datetime | None
    ) -> ContractContext | None:
        """The bound contract's calendar and suspensions, as known at ``known`` (recorded time)."""
        contract_id = opened.data.get("contract")
        if contract_id is None:
            return None
        recorded = self.store.aggregate_events_of(contract_uuid(str(contract_id)), CONTRACT_TOPICS)
        occurrences = [
            contract_occurrence_of(r.event)
            for r in recorded
            if isinstance(r.event, ContractEvent) and (known is None or r.event.timestamp <= known)
        ]
        return clock_context(str(contract_id), occurrences, to_us(opened.occurred_at))

    def clock(
        self, ticket_id: str, metric: str, as_of: datetime | None, as_known_at: datetime | None
    ) -> tuple[Clock, datetime]:
        state = self.ticket(ticket_id, as_of, as_known_at, with_segments=True)
        for clock in state.clocks:
            if clock.metric == metric:
                return clock, state.evaluated_at
        raise NotFound(f"ticket {ticket_id!r} has no {metric!r} clock")

    def _evaluation_instant(self, as_of: datetime | None, known: datetime | None) -> datetime:
        if as_of is not None:
            return to_utc(as_of, "as_of")
        now = self._clock()
        return min(known, now) if known is not None else now

    def _policy_for(self, opened: TicketOpened, known: datetime | None) -> Version[Any]:
        plan = str(opened.data["plan"])
        versions = known_at(self.catalog.policy_versions(plan), known)
        version = in_effect_at(versions, opened.occurred_at)
        if version is None:
            raise NotFound(
                f"no version of plan {plan!r} in effect at the ticket's opening was known"
            )
        return version
