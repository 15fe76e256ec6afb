"""Helpers shared by the projection tests: a log writer and table snapshots (no tests here)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import DomainEvent
from sqlalchemy import Engine, select

from domain.business_time import DAY_US
from domain.contract_events import CONTRACT_CLASS_OF_TYPE, ContractEventType, contract_uuid
from domain.events import (
    CLASS_OF_TYPE,
    CalendarVersionDefined,
    EventType,
    PolicyVersionDefined,
    calendar_uuid,
    policy_uuid,
    ticket_uuid,
)
from projections.follower import Follower
from projections.schema import tables_for
from projections.tracking import ensure_schema, live_generation
from service.storage.database import DatabaseConfig, create_sql_engine
from service.storage.eventstore import EventStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC

OFFICE = {
    "timezone": "UTC",
    "week": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [], "sun": []},
    "holidays": [],
    "hours_per_working_day": 8,
}


def office_with_holiday(day: str) -> dict[str, Any]:
    return OFFICE | {"holidays": [day]}


def plan_document(calendar: str = "office", **metrics: Any) -> dict[str, Any]:
    return {
        "name": "Gold",
        "calendar": calendar,
        "priorities": ["P1", "P2", "P3"],
        "default_priority": "P3",
        "calendar_overrides": {"P1": "24x7"},
        "warning_fraction": 0.75,
        "metrics": metrics
        or {
            "response": {"targets": {"P1": {"hours": 1}, "P2": {"hours": 4}, "P3": {"hours": 8}}},
            "resolution": {
                "targets": {"P1": {"hours": 8}, "P2": {"working_days": 3}},
                "objective": 0.9,
            },
        },
    }


@dataclass
class LogWriter:
    """Appends events straight to the event store, as the service's writer would."""

    store: EventStore
    versions: dict[Any, int] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)

    def _next(self, key: Any) -> int:
        self.versions[key] = self.versions.get(key, 0) + 1
        return self.versions[key]

    def append(self, *events: DomainEvent) -> int:
        self.positions.extend(self.store.append(list(events)))
        return self.positions[-1]

    def calendar(
        self,
        calendar_id: str,
        document: dict[str, Any] | None = None,
        *,
        recorded_at: datetime = T0 - timedelta(days=30),
        effective_from: datetime | None = None,
    ) -> int:
        return self.append(self.calendar_event(calendar_id, document, recorded_at, effective_from))

    def calendar_event(
        self,
        calendar_id: str,
        document: dict[str, Any] | None,
        recorded_at: datetime,
        effective_from: datetime | None = None,
    ) -> CalendarVersionDefined:
        return CalendarVersionDefined(
            originator_id=calendar_uuid(calendar_id),
            originator_version=self._next(("calendar", calendar_id)),
            timestamp=recorded_at,
            calendar_id=calendar_id,
            document=document or OFFICE,
            effective_from=effective_from,
        )

    def policy(
        self,
        plan_id: str,
        document: dict[str, Any] | None = None,
        *,
        recorded_at: datetime = T0 - timedelta(days=30),
        effective_from: datetime | None = None,
    ) -> int:
        event = PolicyVersionDefined(
            originator_id=policy_uuid(plan_id),
            originator_version=self._next(("policy", plan_id)),
            timestamp=recorded_at,
            plan_id=plan_id,
            document=document or plan_document(),
            effective_from=effective_from,
        )
        return self.append(event)

    def ticket_event(
        self,
        ticket_id: str,
        event_type: str,
        occurred_at: datetime,
        recorded_at: datetime | None = None,
        **data: Any,
    ) -> DomainEvent:
        return CLASS_OF_TYPE[EventType(event_type)](
            originator_id=ticket_uuid(ticket_id),
            originator_version=self._next(("ticket", ticket_id)),
            timestamp=recorded_at or occurred_at,
            ticket_id=ticket_id,
            event_id=f"{ticket_id}-{self.versions[('ticket', ticket_id)]}",
            occurred_at=occurred_at,
            data=data,
            fingerprint="f",
        )

    def event(
        self,
        ticket_id: str,
        event_type: str,
        occurred_at: datetime,
        recorded_at: datetime | None = None,
        **data: Any,
    ) -> int:
        return self.append(
            self.ticket_event(ticket_id, event_type, occurred_at, recorded_at, **data)
        )

    def contract(
        self,
        contract_id: str,
        event_type: str,
        occurred_at: datetime,
        recorded_at: datetime | None = None,
        **data: Any,
    ) -> int:
        """A contract event, as the contract write path stores it (versions from 1)."""
        version = self._next(("contract", contract_id))
        event = CONTRACT_CLASS_OF_TYPE[ContractEventType(event_type)](
            originator_id=contract_uuid(contract_id),
            originator_version=version,
            timestamp=recorded_at or occurred_at,
            contract_id=contract_id,
            event_id=f"{contract_id}-{version}",
            occurred_at=occurred_at,
            data=data,
            fingerprint="f",
        )
        return self.append(event)

    def opened(self, ticket_id: str, at: datetime, plan: str = "gold", **data: Any) -> int:
        return self.event(ticket_id, "opened", at, plan=plan, kind="incident", **data)


@contextmanager
def database(url: str) -> Iterator[tuple[EventStore, Engine]]:
    config = DatabaseConfig.parse(url)
    store = EventStore(config)
    engine = create_sql_engine(config)
    try:
        yield store, engine
    finally:
        store.close()
        engine.dispose()


def snapshot(engine: Engine, generation: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a generation (the live one by default), sorted."""
    with engine.connect() as conn:
        tables = tables_for(generation or live_generation(conn))
        return {
            table.name.split("_", 2)[2]: sorted(
                tuple(row) for row in conn.execute(select(table)).all()
            )
            for table in tables.data_tables
        }


def clock_rows(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        tables = tables_for(live_generation(conn))
        rows = conn.execute(select(tables.clocks)).mappings().all()
        return {(r["ticket_id"], r["metric"]): dict(r) for r in rows}


FASTER_PLAN = plan_document(
    response={"targets": {"P1": {"minutes": 30}, "P2": {"hours": 2}, "P3": {"hours": 6}}},
    relief={"targets": {"P1": {"hours": 4}, "P2": {"hours": 8}}, "objective": 0.8},
    resolution={"targets": {"P1": {"hours": 8}, "P2": {"working_days": 2}}},
)

_LATER_TYPES = (
    "responded",
    "awaiting_customer",
    "customer_replied",
    "relieved",
    "resolved",
    "reopened",
    "priority_changed",
    "closed",
)


def write_scenario(writer: LogWriter, tickets: int = 40, seed: int = 7) -> None:
    """A varied, valid log: interleaved tickets, late events, and version changes midway."""
    rng = random.Random(seed)
    writer.calendar("office")
    writer.policy("gold")
    clock = {f"S-{i}": T0 + timedelta(minutes=37 * i) for i in range(tickets)}
    pending = list(clock)
    opened: set[str] = set()
    step = 0
    while pending:
        ticket_id = rng.choice(pending)
        step += 1
        if step == tickets * 2:
            # A holiday declared for the coming Wednesday reaches running tickets.
            writer.calendar("office", office_with_holiday("2026-03-04"), recorded_at=T0)
        if step == tickets * 3:
            writer.policy("gold", FASTER_PLAN, effective_from=T0 + timedelta(hours=20))
        _next_event(writer, rng, ticket_id, clock, opened)
        if ticket_id in opened and rng.random() < 0.15:
            pending.remove(ticket_id)


def _next_event(
    writer: LogWriter,
    rng: random.Random,
    ticket_id: str,
    clock: dict[str, datetime],
    opened: set[str],
) -> None:
    if ticket_id not in opened:
        opened.add(ticket_id)
        priority = rng.choice(["P1", "P2", "P3", None])
        extra = {"priority": priority} if priority else {}
        writer.opened(ticket_id, clock[ticket_id], customer=rng.choice(["acme", "globex"]), **extra)
        return
    clock[ticket_id] += timedelta(minutes=rng.randint(5, 600))
    occurred = clock[ticket_id]
    if rng.random() < 0.1:  # a late event, still after the opening
        occurred -= timedelta(minutes=rng.randint(1, 4))
    kind = rng.choice(_LATER_TYPES)
    data: dict[str, Any] = {}
    if kind == "priority_changed":
        data["priority"] = rng.choice(["P1", "P2", "P3"])
    writer.event(ticket_id, kind, occurred, None, **data)


def follow_all(engine: Engine, store: EventStore, batch: int = 500) -> int:
    """Project the whole log into the live generation; the position reached."""
    ensure_schema(engine)
    follower = Follower(engine, store)
    try:
        while follower.step(batch):
            pass
        return follower.position
    finally:
        follower.close()


def summary_from_clocks(engine: Engine) -> list[tuple[Any, ...]]:
    """The compliance table as it must be: counted from the clock rows themselves."""
    totals: dict[tuple[Any, ...], list[int]] = {}
    index = {"met": 0, "breached": 1, "pending": 2}
    for row in clock_rows(engine).values():
        key = (row["plan"], row["priority"], row["metric"], row["opened_at_us"] // DAY_US)
        counts = totals.setdefault(key, [0, 0, 0, 0, 0, 0])
        counts[index[row["outcome"]]] += 1
        counts[3] += row["suspended"]  # held by a suspension: also counted above
        # The SLA gauges' counters: open tickets' clocks that breach at some instant,
        # and running clocks with a due instant.
        is_open = row["status"] in ("open", "awaiting_customer")
        counts[4] += int(is_open and row["breach_from_us"] is not None)
        counts[5] += int(row["running_due_us"] is not None)
    return sorted((*key, *value) for key, value in totals.items())
