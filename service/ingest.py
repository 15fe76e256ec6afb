"""What the writer decides for each command before a group is committed.

It keeps a bounded cache of ticket heads so the hot path checks a version and a
few facts instead of loading and replaying a ticket. Heads are updated as
events are prepared; when a group's commit fails, the writer drops the heads it
touched and they are reloaded from the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from eventsourcing.domain import DomainEvent

from domain.calendar import calendar_document, parse_calendar
from domain.contract import NewContractEvent
from domain.contract_events import ContractEventType
from domain.errors import FieldError, NotFound, ValidationFailed
from domain.events import (
    CalendarVersionDefined,
    EventType,
    PolicyVersionDefined,
    TicketEvent,
    calendar_uuid,
    new_ticket_event,
    policy_uuid,
    ticket_uuid,
)
from domain.policy import Policy, parse_policy, policy_document
from domain.service_events import NewServiceEvent, ServiceEvent
from domain.ticket import NewTicketEvent, TicketHead, check_order, check_retry
from domain.versions import Version, in_effect_at
from service.catalog import Catalog
from service.contract_ingest import ContractReceipt, ContractRules
from service.outage_ingest import ServiceRetryOf, ServiceRules
from service.storage.eventstore import EventStore, RecordedEvent

CatalogKind = Literal["calendar", "policy"]


@dataclass(frozen=True)
class DefineVersion:
    """A command to store a new version of a calendar or a policy, already validated.

    ``document`` is the canonical document; ``calendars`` the (field, calendar id)
    references of a policy, which only the writer can check against the catalog
    as it stands when the version is committed.
    """

    kind: CatalogKind
    key: str
    document: dict[str, Any]
    effective_from: datetime | None
    calendars: tuple[tuple[str, str], ...] = ()


def validated_version(
    kind: CatalogKind, key: str, document: dict[str, Any], effective_from: datetime | None
) -> DefineVersion:
    """Parse and validate a PUT body (ValidationFailed naming each bad field).

    The caller runs this on its own thread, before submitting: validation is
    the costly part of a version, and the single writer must not hold every
    other write behind it.
    """
    if kind == "calendar":
        canonical = calendar_document(parse_calendar(document))
        return DefineVersion(kind, key, canonical, effective_from)
    policy = parse_policy(document)
    overrides = policy.calendar_overrides.items()
    references = (
        ("calendar", policy.calendar),
        *((f"calendar_overrides.{priority}", calendar_id) for priority, calendar_id in overrides),
    )
    return DefineVersion(kind, key, policy_document(policy), effective_from, references)


Command = NewTicketEvent | DefineVersion | NewServiceEvent | NewContractEvent


class Receipt(NamedTuple):
    """The answer to a ticket event: the first answer, also for every retry.

    A named tuple, as every per-event value of the write path: one is made for
    each event, and a frozen dataclass costs several times more to build.
    """

    ticket_id: str
    event_id: str
    version: int
    position: int
    recorded_at: datetime
    created: bool


@dataclass(frozen=True)
class VersionReceipt:
    kind: CatalogKind
    key: str
    version: int
    effective_from: datetime | None
    created: bool


@dataclass(frozen=True)
class Prepared:
    event: DomainEvent
    # Stored in the same transaction, answered for by ``event`` (a contract's customer index).
    extra: tuple[DomainEvent, ...] = ()

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return (self.event, *self.extra)


@dataclass(frozen=True)
class RetryOf:
    """A retry of an event recorded at ``version`` (perhaps earlier in the same group)."""

    ticket_id: str
    event_id: str
    version: int
    aggregate: Literal["ticket", "contract"] = "ticket"


Decision = Prepared | RetryOf | VersionReceipt | ServiceRetryOf


class IngestRules:
    def __init__(self, store: EventStore, catalog: Catalog, max_heads: int = 200_000) -> None:
        self._store = store
        self._catalog = catalog
        self._heads: OrderedDict[str, TicketHead] = OrderedDict()
        self._max_heads = max_heads
        # Whether to take an uncached ticket opened here for new without a read. A
        # conflict (a storm of retries after a restart, say) switches that off, so
        # each group does not fail its insert first; a group whose opened tickets all
        # prove new switches it back on.
        self._assume_new = True
        self.services = ServiceRules(store)
        self.contracts = ContractRules(store, catalog, self._policy_at)

    def decide(self, command: Command, recorded_at: datetime) -> Decision:
        if isinstance(command, NewTicketEvent):
            return self._ticket_event(command, recorded_at)
        if isinstance(command, NewServiceEvent):
            decided = self.services.decide(command, recorded_at)
            return Prepared(decided) if isinstance(decided, ServiceEvent) else decided
        if isinstance(command, NewContractEvent):
            return self._contract_event(command, recorded_at)
        return self._catalog_version(command, recorded_at)

    def _contract_event(self, command: NewContractEvent, recorded_at: datetime) -> Decision:
        decided = self.contracts.decide(command, recorded_at)
        if isinstance(decided, int):
            return RetryOf(command.contract_id, command.event_id, decided, "contract")
        return Prepared(decided[0], decided[1:])

    def prefetch(self, commands: list[Command], *, assume_new_on_opened: bool = True) -> None:
        """Load, in one read, the heads a group needs that the cache does not hold.

        A ticket whose first command here is ``opened`` is assumed new without a
        read: the store's primary key on version 1 refuses the write if it is not,
        and the writer then retries the group with ``assume_new_on_opened=False``.
        """
        services = [c for c in commands if isinstance(c, NewServiceEvent)]
        self.services.prefetch(services, assume_new=assume_new_on_opened)
        first: dict[str, NewTicketEvent] = {}
        customers: set[str] = set()
        for command in commands:
            if not isinstance(command, NewTicketEvent):
                continue
            if command.ticket_id not in self._heads:
                first.setdefault(command.ticket_id, command)
            if command.type is EventType.OPENED and "customer" in command.data:
                customers.add(str(command.data["customer"]))
        self.contracts.prefetch_customers(customers)
        assume_new = assume_new_on_opened and self._assume_new
        missing = []
        for ticket_id, command in first.items():
            if assume_new and command.type is EventType.OPENED:
                self._remember(TicketHead(ticket_id))
            else:
                missing.append(ticket_id)
        if not missing:
            return
        loaded = self._store.events_of_many([ticket_uuid(t) for t in missing])
        for ticket_id in missing:
            self._remember(_replay(ticket_id, loaded[ticket_uuid(ticket_id)]))
        opened = [t for t in missing if first[t].type is EventType.OPENED]
        if assume_new_on_opened and opened:
            self._assume_new = not any(loaded[ticket_uuid(t)] for t in opened)

    def opened_ticket_existed(self) -> None:
        """A group that took opened tickets for new hit stored ones: read first for a while."""
        self._assume_new = False

    def note_stored(self, event: TicketEvent, position: int) -> None:
        """A committed ticket event's place in the log, for the answers to its retries."""
        head = self._heads.get(event.ticket_id)
        if head is not None:
            head.stored[event.originator_version] = (position, event.timestamp)

    def _remember(self, head: TicketHead) -> None:
        self._heads[head.ticket_id] = head
        if len(self._heads) > self._max_heads:
            self._heads.popitem(last=False)

    def forget(self, ticket_ids: set[str]) -> None:
        for ticket_id in ticket_ids:
            self._heads.pop(ticket_id, None)

    def forget_commands(self, commands: list[Command]) -> None:
        """Drop what deciding ``commands`` cached: it is read again from the store."""
        self.forget({c.ticket_id for c in commands if isinstance(c, NewTicketEvent)})
        contracts = [c for c in commands if isinstance(c, NewContractEvent)]
        self.contracts.forget(
            {c.contract_id for c in contracts},
            {str(c.data["customer"]) for c in contracts if c.type is ContractEventType.STARTED},
        )

    def retry_receipt(self, retry: RetryOf) -> Receipt | ContractReceipt:
        if retry.aggregate == "contract":
            return self.contracts.receipt_of(retry.ticket_id, retry.event_id, retry.version)
        return self.receipt_of(retry.ticket_id, retry.event_id, retry.version)

    def receipt_of(self, ticket_id: str, event_id: str, version: int) -> Receipt:
        """The first answer for an event already committed (a retry's answer)."""
        head = self._heads.get(ticket_id)
        if head is not None and version in head.stored:
            position, recorded_at = head.stored[version]
            return Receipt(ticket_id, event_id, version, position, recorded_at, created=False)
        for recorded in self._store.aggregate_events(ticket_uuid(ticket_id)):
            if recorded.event.originator_version == version:
                return Receipt(
                    ticket_id,
                    event_id,
                    version,
                    recorded.position,
                    recorded.event.timestamp,
                    created=False,
                )
        raise NotFound(f"event {event_id!r} of ticket {ticket_id!r} is not recorded")

    # --- ticket events -----------------------------------------------------

    def head(self, ticket_id: str) -> TicketHead:
        head = self._heads.get(ticket_id)
        if head is None:
            head = _replay(ticket_id, self._store.aggregate_events(ticket_uuid(ticket_id)))
            self._remember(head)
        else:
            self._heads.move_to_end(ticket_id)
        return head

    def _ticket_event(self, command: NewTicketEvent, recorded_at: datetime) -> Decision:
        head = self.head(command.ticket_id)
        retry = check_retry(head, command)
        if retry is not None:
            return RetryOf(command.ticket_id, command.event_id, retry.version)
        check_order(head, command)
        data = command.data
        if command.type is EventType.OPENED:
            data = self._check_opened(command)
        elif command.type is EventType.PRIORITY_CHANGED:
            assert head.plan is not None
            assert head.opened_at is not None
            policy = self._policy_at(head.plan, head.opened_at)
            self._check_priority(policy, command.data.get("priority"))
        version = head.version + 1
        event = new_ticket_event(
            command.type,
            originator_id=ticket_uuid(command.ticket_id),
            originator_version=version,
            timestamp=recorded_at,
            ticket_id=command.ticket_id,
            event_id=command.event_id,
            occurred_at=command.occurred_at,
            data=dict(data),
            fingerprint=command.fingerprint,
            sequence=command.sequence,
        )
        head.record(command.event_id, command.fingerprint, version)
        if command.type is EventType.OPENED:
            head.opened_at = command.occurred_at
            head.plan = str(data["plan"])
        return Prepared(event)

    def _check_opened(self, command: NewTicketEvent) -> dict[str, Any]:
        """The stored data: as posted, with the resolved plan, and the contract if bound.

        The fingerprint stays that of the posted body, so a retry still matches.
        """
        data = command.data
        binding = self.contracts.bind(data, command.occurred_at)
        policy = self._policy_at(binding.plan, command.occurred_at)
        if "priority" in data:
            self._check_priority(policy, data["priority"])
        if binding.contract is None and "plan" in data:
            return data
        resolved = {"customer": binding.customer, **data, "plan": binding.plan}
        resolved["contract"] = binding.contract
        if binding.calendar is not None:
            resolved["calendar"] = binding.calendar
        return resolved

    def _policy_at(self, plan: str, instant: datetime) -> Version[Policy]:
        version = in_effect_at(self._catalog.policy_versions(plan, refresh=False), instant)
        if version is None:
            version = in_effect_at(self._catalog.policy_versions(plan, refresh=True), instant)
        if version is None:
            known = bool(self._catalog.policy_versions(plan, refresh=False))
            reason = "has no version in effect at occurred_at" if known else "is not a known plan"
            raise ValidationFailed.single("data.plan", f"plan {plan!r} {reason}")
        return version

    def _check_priority(self, policy: Version[Policy], priority: object) -> None:
        if priority not in policy.value.priorities:
            declared = ", ".join(policy.value.priorities)
            raise ValidationFailed.single(
                "data.priority", f"{priority!r} is not declared by the plan (one of {declared})"
            )

    # --- catalog versions ----------------------------------------------------

    def _catalog_version(self, command: DefineVersion, recorded_at: datetime) -> Decision:
        document = command.document  # validated by the caller (validated_version)
        if command.kind == "calendar":
            versions: list[Version[Any]] = list(self._catalog.calendar_versions(command.key))
        else:
            self._check_calendars(command.calendars)
            versions = list(self._catalog.policy_versions(command.key))
        if versions:
            newest = max(versions, key=lambda v: v.number)
            stored = self._catalog.document(command.kind, command.key, newest.number)
            if stored == document and self._given(command, newest) == command.effective_from:
                return VersionReceipt(
                    command.kind, command.key, newest.number, newest.effective_from, created=False
                )
        number = len(versions) + 1
        return Prepared(self._version_event(command, document, number, recorded_at))

    def _given(self, command: DefineVersion, version: Version[Any]) -> datetime | None:
        return self._catalog.given_effective_from(command.kind, command.key, version.number)

    def _version_event(
        self, command: DefineVersion, document: dict[str, Any], number: int, recorded_at: datetime
    ) -> DomainEvent:
        if command.kind == "calendar":
            return CalendarVersionDefined(
                originator_id=calendar_uuid(command.key),
                originator_version=number,
                timestamp=recorded_at,
                calendar_id=command.key,
                document=document,
                effective_from=command.effective_from,
            )
        return PolicyVersionDefined(
            originator_id=policy_uuid(command.key),
            originator_version=number,
            timestamp=recorded_at,
            plan_id=command.key,
            document=document,
            effective_from=command.effective_from,
        )

    def _check_calendars(self, references: tuple[tuple[str, str], ...]) -> None:
        errors = [
            FieldError(field, f"calendar {calendar_id!r} does not exist")
            for field, calendar_id in references
            if not self._catalog.calendar_exists(calendar_id)
        ]
        if errors:
            raise ValidationFailed(errors)


def _replay(ticket_id: str, recorded: Iterable[RecordedEvent]) -> TicketHead:
    stored = [(r.position, r.event) for r in recorded if isinstance(r.event, TicketEvent)]
    head = TicketHead.replay(ticket_id, [event for _, event in stored])
    head.stored.update({e.originator_version: (position, e.timestamp) for position, e in stored})
    return head
