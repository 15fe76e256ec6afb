"""A steady load of single and batch posts that records what each answer acknowledged.

Every write is retried with the same event ids until it is acknowledged, as an
integrator would (a retry of a stored event answers 200 with its receipt), so a
commit that landed while its answer was lost is counted once, not lost and not
stored twice. Every request has a hard client timeout: an answer later than
that counts as an error, as a hang would.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

PLAN = "isode-silver"
BATCH_SIZE = 20
REQUEST_TIMEOUT_SECONDS = 3.0
RETRY_PAUSE_SECONDS = 0.1


@dataclass
class Outcome:
    """What the load saw; one lock guards it (the threads share it)."""

    acked: dict[str, str] = field(default_factory=dict)  # event_id -> ticket_id
    refused: int = 0  # 503 with Retry-After
    errors: list[str] = field(default_factory=list)  # anything else that is not 2xx
    statuses: Counter[str] = field(default_factory=Counter)  # "POST 201", "GET 503"...
    max_latency: float = 0.0
    writes_ok: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Load:
    def __init__(
        self, base_urls: list[str], token: str, singles: int = 3, batches: int = 2, readers: int = 1
    ) -> None:
        self.outcome = Outcome()
        self._stop = threading.Event()
        self._urls = base_urls
        self._headers = {"Authorization": f"Bearer {token}"}
        self._threads = (
            [
                threading.Thread(target=self._singles, args=(f"s{i}",), daemon=True)
                for i in range(singles)
            ]
            + [
                threading.Thread(target=self._batches, args=(f"b{i}",), daemon=True)
                for i in range(batches)
            ]
            + [threading.Thread(target=self._reads, args=(i,), daemon=True) for i in range(readers)]
        )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    # --- the writers -------------------------------------------------------------------

    def _singles(self, name: str) -> None:
        urls = itertools.cycle(self._urls)
        with httpx.Client(headers=self._headers, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                ticket = f"HA-{name}-{n}"
                for kind, at in (("opened", "09:00"), ("responded", "10:30")):
                    body = _event(ticket, f"{ticket}-{kind}", kind, at)
                    body.pop("ticket_id")
                    path = f"/v1/tickets/{ticket}/events"
                    self._until_acked(client, urls, path, body, [(ticket, body["event_id"])])

    def _batches(self, name: str) -> None:
        urls = itertools.cycle(self._urls)
        with httpx.Client(headers=self._headers, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                events = [
                    _event(f"HA-{name}-{n}-{i}", f"HA-{name}-{n}-{i}-opened", "opened", "09:00")
                    for i in range(BATCH_SIZE)
                ]
                ids = [(e["ticket_id"], e["event_id"]) for e in events]
                self._until_acked(client, urls, "/v1/events/batch", {"events": events}, ids)

    def _reads(self, seed: int) -> None:
        """Audit reads of acknowledged tickets: 200, or 503 while there is no database."""
        chooser = random.Random(seed)
        urls = itertools.cycle(self._urls)
        with httpx.Client(headers=self._headers, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            while not self._stop.wait(0.02):
                with self.outcome.lock:
                    tickets = list(self.outcome.acked.values())[-500:]
                if tickets:
                    self._get(client, f"{next(urls)}/v1/tickets/{chooser.choice(tickets)}/events")

    def _get(self, client: httpx.Client, url: str) -> None:
        sent = time.monotonic()
        try:
            response = client.get(url)
        except httpx.HTTPError as error:
            self._record_error(sent, f"GET {url}: {type(error).__name__}: {error}")
            return
        with self.outcome.lock:
            self.outcome.max_latency = max(self.outcome.max_latency, time.monotonic() - sent)
            self.outcome.statuses[f"GET {response.status_code}"] += 1
            if response.status_code == 503 and response.headers.get("Retry-After"):
                self.outcome.refused += 1
            elif response.status_code != 200:
                self.outcome.errors.append(f"GET {url}: {response.status_code}")

    def _until_acked(
        self,
        client: httpx.Client,
        urls: itertools.cycle[str],
        path: str,
        body: dict[str, Any],
        ids: list[tuple[str, str]],
    ) -> None:
        """Post (to the next server each time) until acknowledged; give up only when stopped."""
        while True:
            if self._post(client, next(urls) + path, body, ids):
                return
            if self._stop.is_set():
                return
            time.sleep(RETRY_PAUSE_SECONDS)

    def _post(
        self, client: httpx.Client, url: str, body: dict[str, Any], ids: list[tuple[str, str]]
    ) -> bool:
        sent = time.monotonic()
        try:
            response = client.post(url, json=body)
        except httpx.HTTPError as error:
            self._record_error(sent, f"{url}: {type(error).__name__}: {error}")
            return False
        answered = time.monotonic()
        outcome = self.outcome
        with outcome.lock:
            outcome.max_latency = max(outcome.max_latency, answered - sent)
            outcome.statuses[f"POST {response.status_code}"] += 1
            if response.status_code == 503 and response.headers.get("Retry-After"):
                outcome.refused += 1
                return False
            if not response.is_success:
                outcome.errors.append(f"{url}: {response.status_code} {response.text[:300]}")
                return False
            acked = _acknowledged(response.json(), ids)
            outcome.acked.update({event_id: ticket for ticket, event_id in acked})
            if acked:
                outcome.writes_ok.append((sent, answered))
            if len(acked) < len(ids):
                # A batch answers per item; an item not stored must be posted again.
                outcome.errors.append(f"{url}: {len(ids) - len(acked)} batch items not stored")
                return False
            return True

    def _record_error(self, sent: float, message: str) -> None:
        with self.outcome.lock:
            self.outcome.max_latency = max(self.outcome.max_latency, time.monotonic() - sent)
            self.outcome.errors.append(message)


def _event(ticket: str, event_id: str, kind: str, at: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_id": ticket,
        "event_id": event_id,
        "type": kind,
        "occurred_at": f"2026-03-02T{at}:00Z",
    }
    if kind == "opened":
        body["data"] = {"plan": PLAN, "priority": "P2", "customer": "ha"}
    return body


def _acknowledged(answer: dict[str, Any], ids: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (ticket, event id) pairs this 2xx answer says are stored."""
    if "results" not in answer:
        return ids if answer.get("event_id") == ids[0][1] else []
    return [
        pair
        for pair, result in zip(ids, answer["results"], strict=True)
        if result.get("status") in (200, 201) and result.get("event_id") == pair[1]
    ]
