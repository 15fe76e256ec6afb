"""What the writer holds: requests, one unit per command, and groups in flight.

A request is answered on its own event loop, all its commands together, once
every one of them is decided and the accepted ones are durably committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

from service.contract_ingest import ContractReceipt
from service.ingest import Command, Decision, Receipt, VersionReceipt
from service.outage_ingest import ServiceReceipt
from service.storage.store_circuit import StoreUnavailable

Answer = Receipt | VersionReceipt | ServiceReceipt | ContractReceipt


@dataclass
class Request:
    """Commands submitted together (one HTTP request); answered together after commit."""

    commands: list[Command]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Answer | Exception]]
    results: list[Answer | Exception | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.results = [None] * len(self.commands)

    def answers(self) -> list[Answer | Exception]:
        return [r if r is not None else lost() for r in self.results]


def settle(requests: list[Request], error: Exception | None = None) -> None:
    """Answer requests on their event loop (a request whose caller gave up is skipped)."""
    for request in requests:
        if request.future.done():
            continue
        if error is None:
            request.future.set_result(request.answers())
        else:
            request.future.set_exception(error)


def settle_from_thread(requests: list[Request], error: Exception | None = None) -> None:
    # One wake-up per loop and group, rather than one per request.
    by_loop: dict[asyncio.AbstractEventLoop, list[Request]] = {}
    for request in requests:
        by_loop.setdefault(request.loop, []).append(request)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(settle, waiting, error)


@dataclass
class Unit:
    """One command of a request."""

    request: Request
    index: int
    # When the writer took it: a failure of a call begun before the outage circuit
    # last closed is that outage's echo, not news of a new one.
    began: float = field(default_factory=time.monotonic)

    @property
    def command(self) -> Command:
        return self.request.commands[self.index]

    @property
    def pending(self) -> bool:
        return self.request.results[self.index] is None

    def answer(self, result: Answer | Exception) -> None:
        self.request.results[self.index] = result

    def reset(self) -> None:
        self.request.results[self.index] = None


@dataclass
class Flight:
    """A decided group whose insert runs while the writer decides the next one."""

    requests: list[Request]
    units: list[Unit]
    decided: list[tuple[Unit, Decision]]
    insert: Future[list[int]]


def lost() -> Exception:
    return StoreUnavailable("the writer stopped before committing this event")
