"""Webhooks end to end: a real server, a real `slaclock webhooks` process, a real receiver."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook

from tests.api.conftest import unique
from tests.api.webhook_support import (
    iso,
    new_plan,
    open_critical,
    start_webhooks,
    subscribe,
    webhooks_process,
)
from tests.support.receiver import Receiver
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def base_url(projected_base_url: str) -> str:
    return projected_base_url


def kinds_of(hook: Receiver, ticket: str) -> list[str]:
    bodies = [json.loads(r.body) for r in list(hook.received)]
    return [b["type"] for b in bodies if b["data"]["ticket_id"] == ticket]


def test_subscriptions_show_the_secret_once(client: httpx.Client) -> None:
    created = subscribe(client, "https://hooks.example.com/sla", "any", ["breached", "met"])
    assert created["secret"].startswith("whsec_")
    one = client.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in one
    assert one["kinds"] == ["breached", "met"]
    assert one["filters"] == {"plan": ["any"]}
    listed = client.get("/v1/webhooks").json()["items"]
    assert created["id"] in [w["id"] for w in listed]
    assert all("secret" not in w for w in listed)
    assert client.delete(f"/v1/webhooks/{created['id']}").status_code == 204
    assert client.get(f"/v1/webhooks/{created['id']}").status_code == 404
    assert client.delete(f"/v1/webhooks/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "kinds": ["met"]}, "url"),
        ({"url": "http://localhost:8000/hook", "kinds": ["met"]}, "url"),
        ({"url": "http://127.0.0.1:8000/v1/events", "kinds": ["met"]}, "url"),
        ({"url": "https://example.com/x", "kinds": ["met"], "secret": "plain"}, "secret"),
    ],
)
def test_bad_subscriptions_are_422_problems(
    client: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = client.post("/v1/webhooks", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_unknown_kinds_and_filters_are_422(client: httpx.Client) -> None:
    for body in (
        {"url": "https://example.com/x", "kinds": ["exploded"]},
        {"url": "https://example.com/x", "kinds": []},
        {"url": "https://example.com/x", "kinds": ["met"], "filters": {"colour": ["red"]}},
    ):
        response = client.post("/v1/webhooks", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"


def test_a_breach_arrives_within_a_second_of_its_due_instant_signed(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan = new_plan(client, unique("wh-due"))
    receiver.start()
    secret = subscribe(client, receiver.url, plan, ["breached"])["secret"]
    ticket = unique("due")
    with webhooks_process(module_database_url):
        # A ticket already past due proves the worker is up before the clock starts.
        probe = unique("probe")
        open_critical(client, plan, probe, timedelta(seconds=-5))
        assert eventually(lambda: kinds_of(receiver, probe) == ["breached"], 30)
        due = open_critical(client, plan, ticket, timedelta(seconds=2))
        assert eventually(lambda: kinds_of(receiver, ticket) == ["breached"], 15)
    arrival = next(r for r in receiver.received if ticket.encode() in r.body)
    lateness = arrival.at - due.timestamp()
    assert 0 <= lateness < 1.0, lateness
    payload = Webhook(secret).verify(arrival.body, arrival.headers)
    assert payload["data"]["due_at"] == iso(due)
    assert payload["data"]["metric"] == "response"


def test_a_late_event_retracts_the_breach_and_announces_met(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan = new_plan(client, unique("wh-late"))
    receiver.start()
    kinds = ["breached", "met", "breach_retracted", "at_risk"]
    subscribe(client, receiver.url, plan, kinds)
    ticket = unique("late")
    with webhooks_process(module_database_url):
        due = open_critical(client, plan, ticket, timedelta(seconds=-60))
        assert eventually(lambda: "breached" in kinds_of(receiver, ticket), 15)
        responded = {
            "event_id": f"{ticket}-r",
            "type": "responded",
            "occurred_at": iso(due - timedelta(minutes=10)),
        }
        assert client.post(f"/v1/tickets/{ticket}/events", json=responded).status_code in (200, 201)
        assert eventually(lambda: len(kinds_of(receiver, ticket)) >= 3, 15)
    kinds = kinds_of(receiver, ticket)
    assert kinds[0] == "breached"
    # sent concurrently: no order between the two (receivers order by payload timestamp)
    assert sorted(kinds[1:]) == ["breach_retracted", "met"]


def test_a_receiver_down_for_a_while_gets_every_event_once_up(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan = new_plan(client, unique("wh-down"))
    hook = subscribe(client, receiver.url, plan, ["breached"])
    tickets = [unique("down") for _ in range(20)]
    with webhooks_process(module_database_url):
        for ticket in tickets:
            open_critical(client, plan, ticket, timedelta(seconds=-5))

        def failing() -> bool:
            items = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
            return len(items) == 20 and all(d["attempts"] >= 2 for d in items)

        assert eventually(failing, 20)
        items = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
        # each is waiting for its next attempt, or on it (claimed: "sending")
        assert all(d["status"] in {"pending", "sending"} and d["last_error"] for d in items)
        waiting = [d for d in items if d["status"] == "pending"]
        assert all(d["next_attempt_at"] is not None for d in waiting)
        receiver.start()
        arrived = lambda: {json.loads(r.body)["data"]["ticket_id"] for r in receiver.received}  # noqa: E731
        assert eventually(lambda: arrived() == set(tickets), 30)

        def delivered() -> bool:
            items = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
            return all(d["status"] == "delivered" for d in items)

        assert eventually(delivered, 10)


def test_a_dispatcher_killed_mid_delivery_is_redelivered_with_the_same_id(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan = new_plan(client, unique("wh-kill"))
    receiver.start()
    receiver.hold.set()  # the receiver takes the request and never answers it
    subscribe(client, receiver.url, plan, ["breached"])
    ticket = unique("kill")
    first = start_webhooks(module_database_url)
    try:
        open_critical(client, plan, ticket, timedelta(seconds=-5))
        assert eventually(lambda: len(receiver.received) == 1, 20)
        sent_id = receiver.ids()[0]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    receiver.hold.clear()
    with webhooks_process(module_database_url):
        assert eventually(lambda: len(receiver.received) >= 2, 20)
    assert set(receiver.ids()) == {sent_id}


def test_deliveries_can_be_sent_again(
    client: httpx.Client, receiver: Receiver, module_database_url: str
) -> None:
    plan = new_plan(client, unique("wh-again"))
    receiver.start()
    hook = subscribe(client, receiver.url, plan, ["breached"])
    with webhooks_process(module_database_url):
        open_critical(client, plan, unique("again"), timedelta(seconds=-5))
        assert eventually(lambda: len(receiver.received) == 1, 15)
        path = f"/v1/webhooks/{hook['id']}/deliveries"
        assert eventually(lambda: client.get(path).json()["items"][0]["status"] == "delivered", 10)
        delivery = client.get(path).json()["items"][0]
        assert delivery["attempts"] == 1
        assert delivery["delivered_at"] is not None
        again = client.post(f"{path}/{delivery['id']}/redeliver")
        assert again.status_code == 202
        assert again.json()["status"] == "pending"
        assert eventually(lambda: len(receiver.received) == 2, 15)
    assert receiver.ids() == [delivery["id"]] * 2
    assert client.post(f"{path}/msg_nope/redeliver").status_code == 404
    assert client.get("/v1/webhooks/wh_nope/deliveries").status_code == 404
    _ = datetime.now(UTC)
