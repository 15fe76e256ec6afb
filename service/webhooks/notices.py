"""Finds the contract notices that hold now, and sweeps them into the outbox.

``ContractNotices`` reads what the allowance and credit listings read (the
contracts' events, as of now): every current term's allowance under a fifth
of its grant, and every month's deepest failed uptime tier still unclaimed in
its window. ``NoticeSweeper`` runs in the active webhooks worker and writes
what it finds, once each (projections/webhooks/notices.py), every
``interval`` seconds: these facts change with events and with time (a term
renews, an open outage passes a tier), so they are looked for rather than
derived from one event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from domain.webhooks.notices import ClaimableCredit, Notice, allowance_low, credit_claimable
from projections.tracking import write_transaction
from projections.webhooks.notices import announce
from projections.webhooks.outbox import wall_us
from service.catalog import Catalog
from service.contracts import AllowanceItem, ContractReads
from service.credit_reads import CreditReads, MonthCredit
from service.storage.eventstore import EventStore
from service.storage.writer import utc_now
from service.uptime_reads import Instants

log = logging.getLogger(__name__)

PAGE = 500


class NoticeSource(Protocol):
    def current(self) -> list[Notice]: ...


class ContractNotices:
    def __init__(
        self, contracts: ContractReads, credits: CreditReads, clock: Callable[[], datetime]
    ) -> None:
        self._contracts = contracts
        self._credits = credits
        self._clock = clock

    def current(self) -> list[Notice]:
        return [*self._allowances(), *self._claimable()]

    def _allowances(self) -> Iterator[Notice]:
        for item in self._low_items():
            notice = allowance_low(item.contract_id, item.customer, item.plan, item.report)
            if notice is not None:
                yield notice

    def _low_items(self) -> Iterator[AllowanceItem]:
        token: str | None = None
        filters = {"state": "low"}
        while True:
            page = self._contracts.allowances(filters, PAGE, token)
            yield from page.items
            if page.next_cursor is None:
                return
            token = page.next_cursor

    def _claimable(self) -> Iterator[Notice]:
        for credits, month in self._credits.claimable(Instants(self._clock, None, None)):
            credit = _claimable_credit(month)
            if credit is not None:
                yield credit_claimable(credits.contract_id, credits.customer, month.plan, credit)


def contract_notices(store: EventStore, clock: Callable[[], datetime] = utc_now) -> ContractNotices:
    """The notices read straight from the event store (the webhooks process writes nothing)."""
    credits = CreditReads.over(store, Catalog(store))
    return ContractNotices(ContractReads(store, clock), credits, clock)


def _claimable_credit(month: MonthCredit) -> ClaimableCredit | None:
    failure = month.uptime.credit
    if failure is None:
        return None
    return ClaimableCredit(
        service=month.service,
        month=month.uptime.month.label,
        uptime=month.uptime.uptime,
        days=failure.tier.days,
        below=failure.tier.below,
        tipping_at=failure.tipping_at,
        claim_deadline=failure.claim_deadline,
    )


def sweep(engine: Engine, source: NoticeSource) -> int:
    """Announce what holds now and was not announced yet; how many deliveries were written."""
    notices = source.current()
    if not notices:
        return 0
    with engine.connect() as conn, write_transaction(conn):
        return announce(conn, notices, wall_us())


class NoticeSweeper:
    def __init__(
        self, engine: Engine, source: NoticeSource, stop: threading.Event, interval: float
    ) -> None:
        self._engine = engine
        self._source = source
        self._stop = stop
        self._interval = interval
        self.written = 0

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.written += sweep(self._engine, self._source)
            except Exception:
                log.exception("contract notice sweep failed; retrying")
            self._stop.wait(self._interval)
