"""Contracts in the application service: writes through the writer, reads from the events.

A contract read is computed from the contract's own events, so it is always
consistent with what was written: a cached state brought up to date with the
events recorded since, or, with ``as_known_at``, the events known then
replayed. The lists read the directory of contracts (one
``CustomerContractListed`` per contract, or the customer's own index when a
customer is named) and evaluate each contract the same way: no projection can
lag behind them, at a cost that grows with the contracts listed
(docs/contracts.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from domain.allowances import AllowanceReport, is_low
from domain.business_time import from_us, to_us
from domain.contract import ContractState, NewContractEvent
from domain.contract_events import (
    ContractEvent,
    CustomerContractListed,
    contract_uuid,
    customer_uuid,
    directory_uuid,
)
from domain.contract_payloads import parse_contract_event_type, validate_contract_data
from domain.contract_view import ContractView, contract_view
from domain.errors import NotFound, ValidationFailed
from domain.events import fingerprint
from domain.instants import to_utc
from projections.reads import cursor
from service.contract_ingest import ContractReceipt
from service.storage.eventstore import EventStore, RecordedEvent
from service.storage.writer import Writer

AllowanceState = Literal["low", "expiring", "exhausted"]
MAX_CACHED = 10_000


class ContractInput(NamedTuple):
    contract_id: str
    event_id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    evaluated_at: datetime


@dataclass(frozen=True)
class AllowanceItem:
    contract_id: str
    customer: str
    plan: str
    report: AllowanceReport


def to_contract_command(item: ContractInput) -> NewContractEvent:
    kind = parse_contract_event_type(item.type)
    occurred_at = to_utc(item.occurred_at)
    data = validate_contract_data(kind, item.data)
    digest = fingerprint(kind.value, occurred_at, data)
    return NewContractEvent(item.contract_id, item.event_id, kind, occurred_at, data, digest)


class ContractReads:
    """What the contracts' events say: histories, states, listings (nothing written)."""

    def __init__(self, store: EventStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        # Reads run on the thread pool: one at a time may bring a cached state up to date.
        self.lock = threading.Lock()
        self._cache: OrderedDict[str, ContractState] = OrderedDict()

    def history(self, contract_id: str, as_known_at: datetime | None) -> list[RecordedEvent]:
        recorded = self._store.aggregate_events(contract_uuid(contract_id))
        if not recorded:
            raise NotFound(f"contract {contract_id!r} was never started")
        cutoff = to_utc(as_known_at, "as_known_at") if as_known_at else None
        return [r for r in recorded if cutoff is None or r.event.timestamp <= cutoff]

    def state(self, contract_id: str, known: datetime | None) -> ContractState:
        """The contract as known at ``known``; the caller holds ``self.lock`` while using it.

        The state of everything known is cached and brought up to date with the
        events recorded since (one query, usually empty), so a contract with
        thousands of entries is not replayed per read.
        """
        if known is not None:
            # What was known at an instant: replayed afresh, as the cache knows everything.
            events = [r.event for r in self.history(contract_id, known)]
            state = ContractState.replay(contract_id, _contract_events(events))
        else:
            cached = self._cache.pop(contract_id, None)
            state = cached if cached is not None else ContractState(contract_id)
            newer = self._store.aggregate_events(contract_uuid(contract_id), state.version)
            for event in _contract_events(r.event for r in newer):
                state.apply(event)
            self._cache[contract_id] = state
            if len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        if not state.started:
            raise NotFound(f"contract {contract_id!r} was not started (or not yet known)")
        return state

    def read(
        self, contract_id: str, as_of: datetime | None, as_known_at: datetime | None
    ) -> ContractView:
        known = to_utc(as_known_at, "as_known_at") if as_known_at else None
        with self.lock:
            return contract_view(self.state(contract_id, known), self._instant(as_of, known))

    def _instant(self, as_of: datetime | None, known: datetime | None) -> datetime:
        if as_of is not None:
            return to_utc(as_of, "as_of")
        now = self._clock()
        return min(known, now) if known is not None else now

    # --- lists -----------------------------------------------------------------

    def contracts(self, filters: dict[str, Any], limit: int, token: str | None) -> Page:
        """Contracts by id, filtered by customer, plan (at the instant) and status."""
        at, after = self._page_start("contracts", filters, token)
        found: list[ContractView] = []
        for view in self._views(filters.get("customer"), after, at):
            if filters.get("plan") not in (None, view.plan):
                continue
            if filters.get("status") not in (None, view.status):
                continue
            found.append(view)
            if len(found) > limit:
                break
        return self._page("contracts", filters, found, limit, at=at, key=lambda v: v.contract_id)

    def allowances(self, filters: dict[str, Any], limit: int, token: str | None) -> Page:
        """The current term's allowances in the state asked for, by contract and allowance."""
        at, after = self._page_start("allowances", filters, token)
        days = filters.get("within_days")
        within = timedelta(days=30 if days is None else int(days))
        found: list[AllowanceItem] = []
        for view in self._views(None, after, at):
            if view.term is None or view.status == "not_started":
                continue
            for report in view.term.allowances:
                if _in_state(report, filters.get("state"), at, within):
                    found.append(AllowanceItem(view.contract_id, view.customer, view.plan, report))
            if len(found) > limit:
                break
        return self._page("allowances", filters, found, limit, at=at, key=lambda i: i.contract_id)

    def _page_start(
        self, listing: str, filters: dict[str, Any], token: str | None
    ) -> tuple[datetime, str | None]:
        decoded = cursor.decode(listing, filters, token)
        if decoded is None:
            as_of = filters.get("as_of")
            return (self._clock() if as_of is None else to_utc(as_of, "as_of")), None
        return from_us(decoded.now_us), str(decoded.after[0])

    def _page(
        self,
        listing: str,
        filters: dict[str, Any],
        found: list[Any],
        limit: int,
        *,
        at: datetime,
        key: Callable[[Any], str],
    ) -> Page:
        if len(found) <= limit:
            return Page(found, None, at)
        # A page ends at a contract's boundary, so no contract is split over two pages.
        last = key(found[limit - 1])
        items = [f for f in found if key(f) <= last]
        return Page(items, cursor.encode(listing, filters, (last,), to_us(at)), at)

    def _views(
        self, customer: str | None, after: str | None, at: datetime
    ) -> Iterator[ContractView]:
        index = directory_uuid() if customer is None else customer_uuid(customer)
        ids = sorted(
            {
                r.event.contract_id
                for r in self._store.aggregate_events(index)
                if isinstance(r.event, CustomerContractListed)
            }
        )
        for contract_id in ids:
            if after is not None and contract_id <= after:
                continue
            with self.lock:
                view = contract_view(self.state(contract_id, None), at)
            yield view


class ContractService(ContractReads):
    """The reads, and contract events recorded through the writer."""

    def __init__(self, store: EventStore, writer: Writer, clock: Callable[[], datetime]) -> None:
        super().__init__(store, clock)
        self._writer = writer

    async def record(self, item: ContractInput) -> ContractReceipt:
        (answer,) = await self._writer.submit([to_contract_command(item)])
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, ContractReceipt)
        return answer


def _contract_events(events: Iterable[object]) -> list[ContractEvent]:
    return [e for e in events if isinstance(e, ContractEvent)]


def _in_state(report: AllowanceReport, state: str | None, at: datetime, within: timedelta) -> bool:
    if state is None:
        return True
    if state == "exhausted":
        return report.balance <= 0
    if state == "low":
        return is_low(report)
    if state == "expiring":
        return report.balance > 0 and report.expires_at - at <= within
    raise ValidationFailed.single("state", "one of low, expiring, exhausted")
