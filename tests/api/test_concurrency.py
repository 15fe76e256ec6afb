"""32 threads against a real server: retries, one hot ticket, many tickets.

Afterwards nothing is lost, nothing is stored twice, nothing answered 5xx, and
every ticket's versions are gapless.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.api.conftest import unique
from tests.api.fixtures import define_plan, event, opened
from tests.support.server import admin_client

THREADS = 32
KINDS = ["responded", "awaiting_customer", "customer_replied", "relieved", "resolved", "reopened"]


def minute(n: int) -> str:
    return f"2026-03-16T{17 + n // 60:02d}:{n % 60:02d}:00Z"


def run_threads(
    base_url: str, work: list[list[tuple[str, dict[str, Any]]]]
) -> list[httpx.Response]:
    def worker(items: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
        with admin_client(base_url) as http:
            return [http.post(f"/v1/tickets/{t}/events", json=body) for t, body in items]

    with ThreadPoolExecutor(THREADS) as pool:
        return [r for batch in pool.map(worker, work) for r in batch]


def history(client: httpx.Client, ticket: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get(f"/v1/tickets/{ticket}/events").json()["events"]
    return events


def assert_gapless(events: list[dict[str, Any]]) -> None:
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["event_id"] for e in events}) == len(events)


def test_the_same_events_again_and_again(base_url: str, client: httpx.Client) -> None:
    plan, ticket = unique("plan"), unique("T")
    define_plan(client, unique("cal"), plan)
    assert client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan)).status_code == 201
    bodies = [event(f"e{i}", KINDS[i % len(KINDS)], minute(i)) for i in range(30)]
    work = [
        [(ticket, b) for b in random.Random(seed).sample(bodies, len(bodies))]
        for seed in range(THREADS)
    ]
    responses = run_threads(base_url, work)
    assert all(r.status_code in (200, 201) for r in responses), Counter(
        r.status_code for r in responses
    )
    assert Counter(r.status_code for r in responses)[201] == 30
    answers: dict[str, set[tuple[int, int]]] = {}
    for r in responses:
        body = r.json()
        answers.setdefault(body["event_id"], set()).add((body["version"], body["position"]))
    assert all(len(a) == 1 for a in answers.values())
    stored = history(client, ticket)
    assert len(stored) == 31
    assert_gapless(stored)


def test_distinct_events_to_one_ticket(base_url: str, client: httpx.Client) -> None:
    plan, ticket = unique("plan"), unique("T")
    define_plan(client, unique("cal"), plan)
    client.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan))
    work = [
        [(ticket, event(f"t{t}-{i}", "responded", minute(i))) for i in range(10)]
        for t in range(THREADS)
    ]
    responses = run_threads(base_url, work)
    assert Counter(r.status_code for r in responses) == {201: THREADS * 10}
    stored = history(client, ticket)
    assert len(stored) == THREADS * 10 + 1
    assert_gapless(stored)


def test_events_to_many_tickets(base_url: str, client: httpx.Client) -> None:
    plan = unique("plan")
    define_plan(client, unique("cal"), plan)
    prefix = unique("M")
    work = [
        [
            item
            for k in range(8)
            for item in (
                (f"{prefix}-{t}-{k}", opened("o", plan)),
                (f"{prefix}-{t}-{k}", event("r", "responded", minute(1))),
                (f"{prefix}-{t}-{k}", event("s", "resolved", minute(2))),
            )
        ]
        for t in range(THREADS)
    ]
    responses = run_threads(base_url, work)
    assert Counter(r.status_code for r in responses) == {201: THREADS * 8 * 3}
    positions = [r.json()["position"] for r in responses]
    assert len(set(positions)) == len(positions)
    for t in range(0, THREADS, 7):
        stored = history(client, f"{prefix}-{t}-3")
        assert [e["event_id"] for e in stored] == ["o", "r", "s"]
        assert_gapless(stored)
