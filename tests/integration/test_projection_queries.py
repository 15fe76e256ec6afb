"""Listings and the compliance report: time-driven breaches, risk, paging, and the arithmetic."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.business_time import DAY_US, from_us, to_us
from domain.errors import ValidationFailed
from projections.reads.compliance import ComplianceQuery
from projections.reads.queries import BreachFilters, Page, TicketFilters
from projections.service import ProjectionService
from tests.integration.test_projection_support import (
    T0,
    LogWriter,
    clock_rows,
    database,
    follow_all,
    plan_document,
)

HOUR = timedelta(hours=1)


@dataclass
class MovableClock:
    """The query instant, moved by the test (the wall clock is never touched)."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'q.db'}"


def _service(engine: Any, store: Any, now: MovableClock) -> ProjectionService:
    return ProjectionService(engine, store, now=now)


def test_a_breach_appears_at_the_due_instant_with_no_event(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("QUIET", T0, priority="P1", customer="acme")  # response 1 h on 24x7
        follow_all(engine, store)
        due = T0 + HOUR
        now = MovableClock(due - timedelta(microseconds=1))
        service = _service(engine, store, now)
        breached = BreachFilters(metric="response")
        assert service.reader.breaches(breached, 10, None).items == []
        now.at = due
        [item] = service.reader.breaches(breached, 10, None).items
        assert (item["ticket_id"], item["metric"], item["outcome"]) == (
            "QUIET",
            "response",
            "breached",
        )
        assert item["breached_at"] == item["due_at"] == due
        assert item["at_risk"] is False
        [ticket] = service.reader.tickets(TicketFilters(), 10, None).items
        response = next(c for c in ticket["clocks"] if c["metric"] == "response")
        assert (response["outcome"], response["breached_at"]) == ("breached", due)
        # The stored row never changed: the breach was decided at query time.
        assert clock_rows(engine)[("QUIET", "response")]["outcome"] == "pending"


def test_at_risk_runs_from_warn_at_until_due_at(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("RISKY", T0, priority="P1")
        follow_all(engine, store)
        warn, due = T0 + timedelta(minutes=45), T0 + HOUR
        now = MovableClock(warn - timedelta(seconds=1))
        service = _service(engine, store, now)
        at_risk = BreachFilters(state="at_risk", metric="response")
        assert service.reader.breaches(at_risk, 10, None).items == []
        now.at = warn
        [item] = service.reader.breaches(at_risk, 10, None).items
        assert (item["at_risk"], item["outcome"], item["warn_at"]) == (True, "pending", warn)
        now.at = due
        assert service.reader.breaches(at_risk, 10, None).items == []


def test_a_stop_after_the_due_instant_is_a_stored_breach(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("LATE", T0, priority="P1")
        writer.event("LATE", "responded", T0 + 2 * HOUR)
        writer.opened("FAST", T0, priority="P1")
        writer.event("FAST", "responded", T0 + timedelta(minutes=10))
        follow_all(engine, store)
        service = _service(engine, store, MovableClock(T0 + 3 * HOUR))
        items = service.reader.breaches(BreachFilters(metric="response"), 10, None).items
        assert [(i["ticket_id"], i["state"], i["breached_at"]) for i in items] == [
            ("LATE", "stopped", T0 + HOUR)
        ]
        open_only = BreachFilters(metric="response", open_only=True)
        assert len(service.reader.breaches(open_only, 10, None).items) == 1  # still open
        writer.event("LATE", "closed", T0 + 3 * HOUR)
        follow_all(engine, store)
        assert service.reader.breaches(open_only, 10, None).items == []


def _all_pages(fetch: Any, limit: int) -> Iterator[Page]:
    token = None
    while True:
        page: Page = fetch(limit, token)
        yield page
        token = page.next_cursor
        if token is None:
            return


def test_ticket_pages_cover_every_match_once_in_order(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for i in range(23):
            writer.opened(f"P-{i:02}", T0 + i * HOUR, customer="acme" if i % 3 else "globex")
        follow_all(engine, store)
        reader = _service(engine, store, MovableClock(T0)).reader
        acme = TicketFilters(customer="acme")
        pages = list(_all_pages(lambda n, c: reader.tickets(acme, n, c), 5))
        ids = [item["ticket_id"] for page in pages for item in page.items]
        assert [len(page.items) for page in pages] == [5, 5, 5]  # 15 matches, no empty page
        assert ids == sorted(f"P-{i:02}" for i in range(23) if i % 3)
        stored = clock_rows(engine)
        for item in (item for page in pages for item in page.items):
            assert item["customer"] == "acme"
            metrics = [clock["metric"] for clock in item["clocks"]]
            assert metrics == sorted(m for t, m in stored if t == item["ticket_id"])
            for clock in item["clocks"]:
                row = stored[(item["ticket_id"], clock["metric"])]
                assert clock["target_seconds"] == row["target_seconds"]
                assert clock["due_at"] == (row["due_at_us"] and from_us(row["due_at_us"]))
        with pytest.raises(ValidationFailed):
            reader.tickets(TicketFilters(customer="globex"), 5, pages[0].next_cursor)
        with pytest.raises(ValidationFailed):
            reader.tickets(acme, 5, "not-a-cursor")


def test_breach_pages_keep_their_instant(database_url: str) -> None:
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        for i in range(12):  # P1 response: 1 h on 24x7, so B-i is due at T0 + 60 + 10i min
            writer.opened(f"B-{i:02}", T0 + i * timedelta(minutes=10), priority="P1")
        follow_all(engine, store)
        now = MovableClock(T0 + timedelta(minutes=115))  # B-00 .. B-05 have breached
        reader = _service(engine, store, now).reader
        response = BreachFilters(metric="response")
        first = reader.breaches(response, 4, None)
        now.at = T0 + 10 * HOUR  # all twelve have breached by now
        second = reader.breaches(response, 4, first.next_cursor)
        assert second.evaluated_at == first.evaluated_at == T0 + timedelta(minutes=115)
        assert second.next_cursor is None
        seen = [i["ticket_id"] for i in first.items + second.items]
        assert seen == [f"B-{i:02}" for i in range(5, -1, -1)]  # newest breach first
        pages = list(_all_pages(lambda n, c: reader.breaches(response, n, c), 5))
        assert [len(p.items) for p in pages] == [5, 5, 2]
        ids = [i["ticket_id"] for p in pages for i in p.items]
        assert ids == [f"B-{i:02}" for i in range(11, -1, -1)]
        now.at = T0 + timedelta(minutes=115)
        at = to_us(now.at)
        expected = sorted(
            (row["running_due_us"], ticket, metric)
            for (ticket, metric), row in clock_rows(engine).items()
            if row["running_due_us"] is not None and row["running_due_us"] > at >= row["warn_at_us"]
        )
        at_risk = BreachFilters(state="at_risk", open_only=True)
        pages = list(_all_pages(lambda n, c: reader.breaches(at_risk, n, c), 1))
        found = [(to_us(i["due_at"]), i["ticket_id"], i["metric"]) for p in pages for i in p.items]
        assert found == expected  # soonest due first
        assert len(pages) == len(found) >= 2


def test_recorded_and_overdue_breaches_page_as_one_listing(database_url: str) -> None:
    """Breaches recorded at an evaluation and running clocks past due come from two
    partial indexes: merged, every page keeps the order of the breach instant."""
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.policy("silver")
        for i in range(14):  # P1 response: 1 h on 24x7, due at T0 + 60 + 10i min
            ticket, opened = f"R-{i:02}", T0 + i * timedelta(minutes=10)
            writer.opened(ticket, opened, plan="gold" if i % 3 else "silver", priority="P1")
            if i % 2:  # answered late: a breach recorded when the answer is projected
                writer.event(ticket, "responded", opened + 65 * timedelta(minutes=1))
            elif i % 4 == 0:  # answered in time: met, in neither index
                writer.event(ticket, "responded", opened + timedelta(minutes=5))
            if i == 5:
                writer.event(ticket, "resolved", opened + 2 * HOUR)
        follow_all(engine, store)
        now = MovableClock(T0 + 4 * HOUR)
        reader = _service(engine, store, now).reader
        rows = clock_rows(engine)
        at = to_us(now.at)
        kinds = {row["breached_at_us"] is None for row in rows.values() if row["breach_from_us"]}
        assert kinds == {True, False}  # both parts have rows
        for filters in (
            BreachFilters(),
            BreachFilters(metric="response"),
            BreachFilters(plan="gold"),
            BreachFilters(plan="silver", open_only=True),
        ):
            expected = sorted(
                (
                    (row["breach_from_us"], ticket, metric)
                    for (ticket, metric), row in rows.items()
                    if row["breach_from_us"] is not None
                    and row["breach_from_us"] <= at
                    and filters.metric in (None, metric)
                    and filters.plan in (None, row["plan"])
                    and (not filters.open_only or row["status"] in ("open", "awaiting_customer"))
                ),
                reverse=True,
            )
            for limit in (1, 2, 5):
                pages = list(_all_pages(lambda n, c, f=filters: reader.breaches(f, n, c), limit))
                found = [(i["ticket_id"], i["metric"]) for p in pages for i in p.items]
                assert found == [(ticket, metric) for _, ticket, metric in expected], filters
            assert len(expected) >= 3


def _opened_days(writer: LogWriter) -> None:
    writer.calendar("office")
    writer.policy("gold")
    # Monday: met (responded in 10 min), breached (responded after 2 h), pending (no event).
    writer.opened("M", T0, priority="P1")
    writer.event("M", "responded", T0 + timedelta(minutes=10))
    writer.opened("B", T0, priority="P1")
    writer.event("B", "responded", T0 + 2 * HOUR)
    writer.opened("W", T0 + 30 * HOUR, priority="P1")  # Tuesday 15:00, due 16:00


def _groups(service: ProjectionService, **filters: Any) -> dict[tuple[str, str, str], Any]:
    groups, _ = service.compliance(ComplianceQuery(**filters))
    return {(g["plan"], g["priority"], g["metric"]): g for g in groups}


def test_compliance_counts_and_attainment(database_url: str) -> None:
    with database(database_url) as (store, engine):
        _opened_days(LogWriter(store))
        follow_all(engine, store)
        now = MovableClock(T0 + 30 * HOUR + timedelta(minutes=30))
        service = _service(engine, store, now)
        response = _groups(service)[("gold", "P1", "response")]
        assert (response["met"], response["breached"], response["pending"]) == (1, 1, 1)
        assert response["attainment"] == 0.5
        assert response["objective"] is None
        assert response["objective_met"] is None
        resolution = _groups(service)[("gold", "P1", "resolution")]
        assert (resolution["met"], resolution["breached"], resolution["pending"]) == (0, 2, 1)
        assert (resolution["attainment"], resolution["objective"]) == (0.0, 0.9)
        assert resolution["objective_met"] is False
        now.at = T0 + 31 * HOUR  # W's response passes its due instant: a time-driven breach
        response = _groups(service)[("gold", "P1", "response")]
        assert (response["met"], response["breached"], response["pending"]) == (1, 2, 0)
        tuesday = _groups(service, from_us=to_us(T0 + 15 * HOUR))
        assert tuesday[("gold", "P1", "response")]["breached"] == 1
        assert tuesday[("gold", "P1", "response")]["met"] == 0


def test_compliance_with_nothing_decided_has_no_attainment(sqlite_url: str) -> None:
    with database(sqlite_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold", plan_document(response={"targets": {"P3": {"hours": 8}}}))
        writer.opened("N", T0, priority="P3")
        follow_all(engine, store)
        [group] = _service(engine, store, MovableClock(T0 + HOUR)).compliance(ComplianceQuery())[0]
        assert (group["pending"], group["attainment"], group["objective_met"]) == (1, None, None)


def _brute_force(
    rows: list[dict[str, Any]], lo: int | None, hi: int | None, now_us: int
) -> dict[tuple[str, str, str], list[int]]:
    counts: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        if (lo is not None and row["opened_at_us"] < lo) or (
            hi is not None and row["opened_at_us"] >= hi
        ):
            continue
        due = row["running_due_us"]
        outcome = "breached" if due is not None and due <= now_us else row["outcome"]
        key = (row["plan"], row["priority"], row["metric"])
        counts.setdefault(key, [0, 0, 0])[["met", "breached", "pending"].index(outcome)] += 1
    return counts


def test_compliance_ranges_agree_with_counting_every_clock(sqlite_url: str) -> None:
    from tests.integration.test_projection_support import write_scenario

    with database(sqlite_url) as (store, engine):
        write_scenario(LogWriter(store), tickets=60, seed=3)
        follow_all(engine, store)
        rows = list(clock_rows(engine).values())
        rng = random.Random(5)
        now = MovableClock(T0)
        service = _service(engine, store, now)
        for _ in range(40):
            now.at = T0 + timedelta(minutes=rng.randint(0, 6 * 24 * 60))
            lo = rng.choice([None, to_us(T0) + rng.randint(-DAY_US, 4 * DAY_US)])
            hi = rng.choice([None, to_us(T0) + rng.randint(0, 6 * DAY_US)])
            if lo is not None and hi is not None and lo >= hi:
                continue
            customer = rng.choice([None, "acme"])
            mine = [r for r in rows if customer is None or r["customer"] == customer]
            expected = _brute_force(mine, lo, hi, to_us(now.at))
            got = _groups(service, from_us=lo, to_us=hi, customer=customer)
            assert {k: [g["met"], g["breached"], g["pending"]] for k, g in got.items()} == {
                k: v for k, v in expected.items() if any(v)
            }


def test_instants_are_truncated_to_the_second(sqlite_url: str) -> None:
    with database(sqlite_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold")
        writer.opened("S", T0 + timedelta(microseconds=700_000), priority="P1")
        follow_all(engine, store)
        service = _service(engine, store, MovableClock(datetime(2027, 1, 1, tzinfo=UTC)))
        [item] = service.reader.breaches(BreachFilters(metric="response"), 5, None).items
        assert item["due_at"] == T0 + HOUR


def test_each_listed_ticket_has_its_own_clocks_and_none_has_none(database_url: str) -> None:
    """One statement reads a page with its clocks: a ticket without clocks is still listed."""
    with database(database_url) as (store, engine):
        writer = LogWriter(store)
        writer.calendar("office")
        writer.policy("gold", plan_document(response={"targets": {"P1": {"hours": 1}}}))
        for i, priority in enumerate(("P1", "P2", "P1")):
            writer.opened(f"Q-{i}", T0 + i * HOUR, priority=priority, customer="acme")
        follow_all(engine, store)
        reader = _service(engine, store, MovableClock(T0)).reader
        page = reader.tickets(TicketFilters(), 10, None)
        listed = {item["ticket_id"]: [c["metric"] for c in item["clocks"]] for item in page.items}
        assert listed == {"Q-0": ["response"], "Q-1": [], "Q-2": ["response"]}
        assert page.next_cursor is None
        first = reader.tickets(TicketFilters(), 1, None)
        second = reader.tickets(TicketFilters(), 1, first.next_cursor)
        assert [(i["ticket_id"], len(i["clocks"])) for i in first.items] == [("Q-0", 1)]
        assert [(i["ticket_id"], len(i["clocks"])) for i in second.items] == [("Q-1", 0)]
        nobody = reader.tickets(TicketFilters(customer="nobody"), 10, None)
        assert (nobody.items, nobody.next_cursor) == ([], None)
