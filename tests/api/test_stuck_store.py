"""A write stuck in the database (here: its write lock held elsewhere) holds nobody for long.

Requests waiting in the writer's queue behind the stuck commit, and the stuck one,
get 503 with Retry-After within 2 s (the client's timeout); once the lock is
released the service takes writes again, and a retry of a request that got 503
is answered with the stored event's receipt if its commit went through after all.
"""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from service.settings import Settings
from tests.api.conftest import unique
from tests.api.fixtures import define_plan, opened
from tests.support.server import ADMIN_TOKEN, admin_client, running_server

ANSWER_WITHIN_SECONDS = 2.0


def test_requests_behind_a_stuck_commit_get_503_and_retries_are_safe(tmp_path: Path) -> None:
    database = tmp_path / "slaclock.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        admin_token=ADMIN_TOKEN,
        projections_enabled=False,
        sqlite_lock_wait_seconds=1.0,
    )
    with running_server(settings) as url, admin_client(url) as http:
        plan = unique("plan")
        define_plan(http, unique("cal"), plan)
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, held
        tickets = [unique("T") for _ in range(6)]
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with (
            httpx.Client(base_url=url, headers=headers, timeout=ANSWER_WITHIN_SECONDS) as fast,
            ThreadPoolExecutor(len(tickets)) as pool,
        ):
            answers = list(
                pool.map(
                    lambda t: fast.post(f"/v1/tickets/{t}/events", json=opened("o", plan)),
                    tickets,
                )
            )
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert "retry-after" in answer.headers
        blocker.execute("ROLLBACK")
        blocker.close()
        deadline = time.monotonic() + 10
        retried: list[httpx.Response] = []
        for ticket in tickets:
            while True:
                response = http.post(f"/v1/tickets/{ticket}/events", json=opened("o", plan))
                if response.status_code != 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            retried.append(response)
        # 201: the first try was not stored; 200: it was, and this is its receipt.
        assert all(r.status_code in (200, 201) for r in retried), [r.text for r in retried]
        for ticket in tickets:
            events = http.get(f"/v1/tickets/{ticket}/events")
            assert events.status_code == 200, events.text
            assert len(events.json()["events"]) == 1


def test_a_write_lock_held_for_a_while_is_waited_for_not_an_outage(tmp_path: Path) -> None:
    """By default a SQLite write waits out another connection's lock (a rebuild, the
    projections' catch-up batch) for up to SLA_SQLITE_LOCK_WAIT_SECONDS: no 503."""
    database = tmp_path / "slaclock.db"
    settings = Settings(
        database_url=f"sqlite:///{database}", admin_token=ADMIN_TOKEN, projections_enabled=False
    )
    assert settings.sqlite_lock_wait_seconds > 3 * settings.store_timeout_seconds
    with running_server(settings) as url, admin_client(url) as http:
        plan = unique("plan")
        define_plan(http, unique("cal"), plan)
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        tickets = [unique("T") for _ in range(6)]
        with ThreadPoolExecutor(len(tickets)) as pool:
            pending = [
                pool.submit(http.post, f"/v1/tickets/{t}/events", json=opened("o", plan))
                for t in tickets
            ]
            time.sleep(3 * settings.store_timeout_seconds)
            blocker.execute("ROLLBACK")
            blocker.close()
            answers = [future.result() for future in pending]
        assert [a.status_code for a in answers] == [201] * len(tickets)
        assert http.get("/readyz").status_code == 200
