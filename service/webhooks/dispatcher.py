"""Sends the outbox: at least once, signed, retried with backoff, never one receiver
holding up another.

One asyncio loop: a claim loop takes due deliveries (per destination at most
``QUEUE_FACTOR`` x its concurrency at a time), each is sent in its own task under
its destination's semaphore (``per_destination`` requests at once), and a flush
loop records outcomes in batches. A receiver that is slow, down or answering
errors fills its own slots only; the others keep theirs. Requests go through a
``Sender`` (service/webhooks/sender.py: HTTP/1.1 on asyncio streams, kept-alive
connections per destination).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine

from domain.webhooks import backoff, signing
from projections.webhooks.deliveries import (
    DEAD,
    DELIVERED,
    PENDING,
    Claimed,
    Outcome,
    claim,
    record,
)
from projections.webhooks.outbox import wall_us
from service.webhooks.sender import HttpSender, Sender, SendError

log = logging.getLogger(__name__)

QUEUE_FACTOR = 8
FLUSH_SECONDS = 0.05
US = 1_000_000
ERROR_MAX = 500


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        *,
        per_destination: int = 16,
        timeout_seconds: float = 10.0,
        retry_scale: float = 1.0,
        poll_seconds: float = 0.1,
        jitter: Callable[[], float] = random.random,
        sender: Sender | None = None,
    ) -> None:
        self._engine = engine
        self._per_destination = per_destination
        self._timeout = timeout_seconds
        self._scale = retry_scale
        self._poll = poll_seconds
        self._jitter = jitter
        self._sender = sender  # when None, run() makes an HttpSender and closes it after
        self._inflight: Counter[str] = Counter()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._outcomes: list[Outcome] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        sender = self._sender or HttpSender(
            timeout_seconds=self._timeout, keep_alive=self._per_destination
        )
        try:
            await self._dispatch(sender, stop)
        finally:
            if self._sender is None:
                await sender.aclose()

    async def _dispatch(self, sender: Sender, stop: asyncio.Event) -> None:
        freed = asyncio.Event()
        flusher = asyncio.create_task(self._flush_loop(stop))
        try:
            while not stop.is_set():
                try:
                    claimed = await self._claim(sender, freed)
                except Exception:  # the database may be out: try again shortly
                    log.exception("could not claim webhook deliveries; retrying")
                    await _wait(stop, 1.0)
                    continue
                if not claimed:
                    await _wait(freed, self._poll)
                    freed.clear()
        finally:
            for task in list(self._tasks):
                task.cancel()  # their rows stay `sending`: the next dispatcher resends them
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await flusher
            await self._flush()

    async def _claim(self, sender: Sender, freed: asyncio.Event) -> int:
        cap = self._per_destination * QUEUE_FACTOR
        room = {sub: cap - n for sub, n in self._inflight.items() if n}
        taken = await asyncio.to_thread(claim, self._engine, wall_us(), room, cap)
        for item in taken:
            self._inflight[item.subscription_id] += 1
            task = asyncio.create_task(self._send(sender, item, freed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(taken)

    async def _send(self, sender: Sender, item: Claimed, freed: asyncio.Event) -> None:
        slots = self._slots.setdefault(
            item.subscription_id, asyncio.Semaphore(self._per_destination)
        )
        try:
            async with slots:
                outcome = await self._attempt(sender, item)
            self._outcomes.append(outcome)
        finally:
            self._inflight[item.subscription_id] -= 1
            freed.set()

    async def _attempt(self, sender: Sender, item: Claimed) -> Outcome:
        now = wall_us()
        headers = signing.headers(item.secret, item.id, now // US, item.payload)
        attempts = item.attempts + 1
        try:
            status = await sender.post(item.url, item.payload, headers)
        except SendError as error:
            return self._failed(item, attempts, None, str(error))
        if 200 <= status < 300:
            self.sent += 1
            return Outcome(item.id, attempts, DELIVERED, wall_us(), None, status)
        return self._failed(item, attempts, status, f"HTTP {status}")

    def _failed(self, item: Claimed, attempts: int, code: int | None, error: str) -> Outcome:
        now = wall_us()
        delay = backoff.next_delay(attempts, self._jitter(), self._scale)
        if delay is None:
            log.warning("webhook delivery %s dead after %d attempts: %s", item.id, attempts, error)
            return Outcome(item.id, attempts, DEAD, now, None, code, error[:ERROR_MAX])
        later = now + int(delay * US)
        return Outcome(item.id, attempts, PENDING, now, later, code, error[:ERROR_MAX])

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _wait(stop, FLUSH_SECONDS)
            try:
                await self._flush()
            except Exception:  # the database may be out; outcomes wait for the next round
                log.exception("could not record webhook delivery outcomes; retrying")

    async def _flush(self) -> None:
        batch, self._outcomes = self._outcomes, []
        try:
            await asyncio.to_thread(record, self._engine, batch)
        except BaseException:
            self._outcomes[:0] = batch
            raise


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
