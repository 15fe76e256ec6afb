"""Readers waiting for a position share one poller, which resolves each when it is reached."""

from __future__ import annotations

import asyncio

from projections.reads.waiters import PositionWaiters


class Position:
    """A position that moves when the test says, counting how often it is asked."""

    def __init__(self) -> None:
        self.value = 0
        self.asked = 0

    async def read(self) -> tuple[int, float]:
        self.asked += 1
        return self.value, 0.005


async def test_each_waiter_is_resolved_when_its_position_is_reached() -> None:
    position = Position()
    waiters = PositionWaiters(position.read)
    early = asyncio.create_task(waiters.wait(3, 5.0))
    late = asyncio.create_task(waiters.wait(10, 5.0))
    await asyncio.sleep(0.05)
    assert not early.done()
    position.value = 5
    assert await early is True
    await asyncio.sleep(0.05)
    assert not late.done()
    position.value = 10
    assert await late is True


async def test_a_position_not_reached_in_time_is_false_and_stops_the_polling() -> None:
    position = Position()
    waiters = PositionWaiters(position.read)
    assert await waiters.wait(1, 0.05) is False
    asked = position.asked
    await asyncio.sleep(0.05)
    assert position.asked == asked  # nobody waits: nothing polls


async def test_many_waiters_share_one_poller() -> None:
    position = Position()
    waiters = PositionWaiters(position.read)
    tasks = [asyncio.create_task(waiters.wait(n, 5.0)) for n in range(1, 101)]
    await asyncio.sleep(0.1)
    position.value = 100
    assert await asyncio.gather(*tasks) == [True] * 100
    # about one look per 5 ms step for all of them, not one per waiter and step
    assert position.asked < 60


async def test_a_failing_read_is_retried_until_the_waiter_times_out() -> None:
    calls = 0

    async def broken() -> tuple[int, float]:
        nonlocal calls
        calls += 1
        raise OSError("database out")

    assert await PositionWaiters(broken).wait(1, 0.3) is False
    assert calls >= 2
