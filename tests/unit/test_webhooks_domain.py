"""Webhooks, pure parts: signatures a receiver accepts, the retry schedule, targets, transitions."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from domain.webhooks import backoff
from domain.webhooks.kinds import Kind
from domain.webhooks.signing import BadSecret, generate_secret, headers, secret_key
from domain.webhooks.targets import target_problem
from domain.webhooks.transitions import ClockView, Mark, fire, mark_as_of, transition

NOW = 1_800_000_000_000_000
S = 1_000_000


def test_a_receiver_verifies_our_signature_with_the_standard_library() -> None:
    secret = generate_secret()
    body = json.dumps({"type": "breached", "data": {"ticket_id": "t"}}).encode()
    # standardwebhooks rejects stale timestamps: sign with the present second
    sent = headers(secret, "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, sent) == {"type": "breached", "data": {"ticket_id": "t"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", sent)


def test_secrets_are_whsec_base64_of_enough_bytes() -> None:
    assert len(secret_key(generate_secret())) >= 16
    for bad in ("abc", "whsec_!!!", "whsec_AAAA"):
        with pytest.raises(BadSecret):
            secret_key(bad)


def test_retries_span_more_than_a_day_then_the_delivery_is_dead() -> None:
    assert backoff.min_total_seconds() > 24 * 3600
    delays = [backoff.next_delay(n, 0.5) for n in range(1, backoff.MAX_ATTEMPTS)]
    assert all(d is not None for d in delays)
    assert delays == sorted(delays)  # type: ignore[type-var]
    assert backoff.next_delay(backoff.MAX_ATTEMPTS, 0.5) is None
    low, high = backoff.next_delay(3, 0.0), backoff.next_delay(3, 0.999)
    assert low is not None
    assert high is not None
    assert low < high


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("ftp://example.com/hook", "http or https"),
        ("http:///nohost", "host"),
        ("http://user:pw@example.com/h", "credentials"),
        ("http://127.0.0.1:8000/hook", "itself"),
        ("http://localhost:8000/hook", "itself"),
        ("http://[::1]:8000/hook", "itself"),
        ("http://0.0.0.0:8000/hook", "itself"),
        ("http://127.9.9.9:8000/", "itself"),
    ],
)
def test_targets_refused(url: str, refused: str) -> None:
    problem = target_problem(url, "127.0.0.1", 8000)
    assert problem is not None
    assert refused in problem


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/x", "http://127.0.0.1:9000/hook", "http://example.com:8000/"],
)
def test_targets_allowed(url: str) -> None:
    assert target_problem(url, "127.0.0.1", 8000) is None


def test_the_bind_host_on_the_serving_port_is_the_service_itself() -> None:
    assert target_problem("http://10.1.2.3:8443/", "10.1.2.3", 8443) is not None
    assert target_problem("https://10.1.2.3/", "10.1.2.3", 443) is not None


def running(due: int, warn: int) -> ClockView:
    return ClockView("pending", due, warn)


def test_a_running_clock_is_scheduled_and_fires_at_risk_then_breached() -> None:
    kinds, mark = transition(None, running(NOW + 10 * S, NOW + 5 * S), None, NOW)
    assert kinds == []
    assert mark is not None
    assert mark.next_us == NOW + 5 * S
    assert fire(mark, NOW + 4 * S) == (None, mark)
    kind, mark = fire(mark, NOW + 5 * S)
    assert kind is Kind.AT_RISK
    assert mark.next_us == NOW + 10 * S
    kind, mark = fire(mark, NOW + 10 * S)
    assert kind is Kind.BREACHED
    assert mark.breached
    assert mark.next_us is None


def test_past_due_announces_only_the_breach() -> None:
    kind, mark = fire(Mark(warn_us=NOW - 2 * S, due_us=NOW - S), NOW)
    assert kind is Kind.BREACHED
    assert mark.next_us is None


def test_a_late_pause_retracts_a_breach_and_reschedules() -> None:
    announced = Mark(breached=True)
    kinds, mark = transition(None, running(NOW + 60 * S, NOW + 30 * S), announced, NOW)
    assert kinds == [Kind.BREACH_RETRACTED]
    assert mark == Mark(warn_us=NOW + 30 * S, due_us=NOW + 60 * S)
    kinds, mark = transition(None, ClockView("pending", None, None), announced, NOW)
    assert kinds == [Kind.BREACH_RETRACTED]
    assert mark is None


def test_met_after_a_breach_announces_retraction_and_met_then_forgets() -> None:
    old = running(NOW - S, NOW - 2 * S)
    kinds, mark = transition(old, ClockView("met", None, None), Mark(breached=True), NOW)
    assert kinds == [Kind.BREACH_RETRACTED, Kind.MET]
    assert mark is None


def test_a_breach_recorded_by_an_event_is_announced_once() -> None:
    breached = ClockView("breached", None, None)
    kinds, mark = transition(None, breached, None, NOW)
    assert kinds == [Kind.BREACHED]
    assert mark == Mark(breached=True)
    assert transition(breached, breached, mark, NOW) == ([], mark)


def test_a_moved_warn_instant_is_announced_again() -> None:
    warned = Mark(at_risk=True, warn_us=NOW - S, due_us=NOW + S)
    _, mark = transition(None, running(NOW + 20 * S, NOW + 10 * S), warned, NOW)
    assert mark is not None
    assert not mark.at_risk
    assert mark.next_us == NOW + 10 * S


@pytest.mark.parametrize(
    ("view", "mark"),
    [
        # still ahead: both instants scheduled, nothing announced
        (
            ClockView("pending", NOW + 10 * S, NOW + 5 * S),
            Mark(False, False, NOW + 5 * S, NOW + 10 * S),
        ),
        # its warning has passed: only the breach is left to announce
        (
            ClockView("pending", NOW + 10 * S, NOW - 5 * S),
            Mark(False, True, NOW - 5 * S, NOW + 10 * S),
        ),
        # past due as of now: the breach counts as announced
        (ClockView("pending", NOW - 1 * S, NOW - 5 * S), Mark(breached=True)),
        (ClockView("breached", None, None), Mark(breached=True)),
        (ClockView("met", None, None), None),
        (ClockView("pending", None, NOW + 5 * S), None),  # paused: nothing to fire
    ],
)
def test_a_new_subscription_starts_from_each_clock_as_of_now(
    view: ClockView, mark: Mark | None
) -> None:
    assert mark_as_of(view, NOW) == mark
    if mark is not None:
        assert fire(mark, NOW) == (None, mark)  # nothing before now is announced to it
