"""The dispatcher and its HTTP client against a real outbox (SQLite and PostgreSQL) and real
loopback receivers: what each attempt records, per destination."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from domain.webhooks.signing import generate_secret
from projections.tracking import ensure_schema, write_transaction
from projections.webhooks import subscriptions as subs
from projections.webhooks.outbox import wall_us
from projections.webhooks.tables import deliveries
from service.webhooks.dispatcher import Dispatcher
from tests.integration.test_projection_support import database
from tests.support.receiver import Receiver
from tests.support.server import free_port

PER_HOOK = 20


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with database(database_url) as (_store, made):
        ensure_schema(made)
        yield made


def queue(engine: Engine, sub_id: str, url: str) -> None:
    now = wall_us()
    sub = subs.Subscription(sub_id, url, frozenset({"breached"}), {}, now, generate_secret())
    rows = [
        {
            "id": f"msg_{sub_id}_{n}",
            "subscription_id": sub_id,
            "kind": "breached",
            "ticket_id": f"t{n}",
            "metric": "response",
            "payload": f'{{"type":"breached","n":{n}}}',
            "created_at_us": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_us": now,
        }
        for n in range(PER_HOOK)
    ]
    with engine.connect() as conn, write_transaction(conn):
        subs.insert(conn, sub)
        conn.execute(insert(deliveries), rows)


def outcomes(engine: Engine, sub_id: str) -> list[Any]:
    d = deliveries.c
    query = select(d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_us)
    with engine.connect() as conn:
        return list(conn.execute(query.where(d.subscription_id == sub_id)))


async def dispatch_until(dispatcher: Dispatcher, done: Callable[[], bool]) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    deadline = time.monotonic() + 20
    while not done() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await running


async def test_each_destination_records_its_own_outcome(engine: Engine) -> None:
    ok, failing = Receiver(free_port()), Receiver(free_port(), status=503)
    ok.start()
    failing.start()
    try:
        queue(engine, "wh_ok", ok.url)
        queue(engine, "wh_503", failing.url)
        queue(engine, "wh_down", f"http://127.0.0.1:{free_port()}/hook")
        dispatcher = Dispatcher(engine, per_destination=4, timeout_seconds=5)

        def attempted() -> bool:
            hooks = ("wh_ok", "wh_503", "wh_down")
            return all(r.attempts for h in hooks for r in outcomes(engine, h))

        await dispatch_until(dispatcher, attempted)
    finally:
        ok.close()
        failing.close()
    assert sorted(ok.ids()) == sorted(f"msg_wh_ok_{n}" for n in range(PER_HOOK))
    assert {tuple(r[:4]) for r in outcomes(engine, "wh_ok")} == {("delivered", 1, 204, None)}
    assert dispatcher.sent == PER_HOOK
    assert {tuple(r[:4]) for r in outcomes(engine, "wh_503")} == {("pending", 1, 503, "HTTP 503")}
    down = outcomes(engine, "wh_down")
    assert {(r.status, r.attempts, r.last_status_code) for r in down} == {("pending", 1, None)}
    assert all(r.last_error.startswith("ConnectionRefusedError: ") for r in down)
    assert all(r.next_attempt_us > wall_us() for r in down)  # retried later, not at once
