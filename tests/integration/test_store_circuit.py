"""The store-outage circuit's decisions, driven tick by tick with a probe the test controls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from service.storage.store_circuit import StoreCircuit

TIMEOUT = 0.05


class Probe:
    """A probe whose answer (ok, failing, or hanging until released) the test sets."""

    def __init__(self) -> None:
        self.failing = False
        self.released = threading.Event()
        self.released.set()
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        self.released.wait()
        if self.failing:
            raise ConnectionRefusedError("refused")


def settle(circuit: StoreCircuit, until: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not until():
        assert time.monotonic() < deadline
        circuit.tick()
        time.sleep(TIMEOUT / 5)


def test_a_failing_probe_opens_and_a_passing_one_closes() -> None:
    probe = Probe()
    circuit = StoreCircuit(probe, timeout=TIMEOUT)
    events: list[str] = []
    circuit.on_open(lambda: events.append("open"))
    circuit.on_close(lambda: events.append("close"))
    probe.failing = True
    settle(circuit, lambda: circuit.is_open)
    probe.failing = False
    settle(circuit, lambda: not circuit.is_open)
    assert events == ["open", "close"]
    assert circuit.openings == 1


def test_a_hung_probe_opens_and_an_older_one_cannot_close() -> None:
    probe = Probe()
    circuit = StoreCircuit(probe, timeout=TIMEOUT)
    probe.released.clear()
    settle(circuit, lambda: circuit.is_open)
    probe.released.set()  # the hung probes answer now: they began before the opening
    circuit.tick()
    settle(circuit, lambda: not circuit.is_open)  # a probe begun after it closes it
    assert probe.calls >= 2


def test_a_trip_is_not_undone_by_a_probe_begun_before_it() -> None:
    probe = Probe()
    circuit = StoreCircuit(probe, timeout=TIMEOUT)
    probe.released.clear()
    circuit.tick()  # a probe starts, and waits
    circuit.trip("a commit failed")
    probe.released.set()
    time.sleep(TIMEOUT / 5)
    circuit.tick()  # that probe passed, but it began before the trip
    assert circuit.is_open


def test_a_stuck_store_call_keeps_it_open_whatever_the_probe_says() -> None:
    stuck = [TIMEOUT * 10]
    circuit = StoreCircuit(Probe(), stuck_for=lambda: stuck[0], timeout=TIMEOUT)
    settle(circuit, lambda: circuit.is_open)
    for _ in range(5):
        circuit.tick()
        time.sleep(TIMEOUT / 5)
    assert circuit.is_open
    stuck[0] = 0.0
    settle(circuit, lambda: not circuit.is_open)


def test_a_failure_of_a_call_begun_before_the_store_came_back_does_not_reopen_it() -> None:
    probe = Probe()
    circuit = StoreCircuit(probe, timeout=TIMEOUT)
    circuit.trip("a commit failed")
    began_during_outage = time.monotonic()
    settle(circuit, lambda: not circuit.is_open)
    circuit.trip("a commit that waited through the outage failed", began=began_during_outage)
    assert not circuit.is_open
    circuit.trip("a commit begun since failed", began=time.monotonic())
    assert circuit.is_open
