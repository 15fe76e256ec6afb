"""Readers waiting for a position share one poller, which resolves each when it is reached."""

from __future__ import annotations

import asyncio
import os
import select

from projections.reads.waiters import PositionWaiters


class Position:
    """A position that moves when the test says, counting how often it is asked."""

    def __init__(self, step: float = 0.005) -> None:
        self.value = 0
        self.asked = 0
        self.step = step

    async def read(self) -> tuple[int, float]:
        self.asked += 1
        return self.value, self.step


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


async def test_news_ends_the_pollers_pause_at_once() -> None:
    position = Position(step=30.0)  # without news, the next look would be 30 s away
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    try:
        waiters = PositionWaiters(position.read, lambda: reader)
        waiting = asyncio.create_task(waiters.wait(3, 60.0))
        await asyncio.sleep(0.05)
        assert position.asked == 1
        position.value = 3
        os.write(writer, b"nnn")
        assert await asyncio.wait_for(waiting, 5.0) is True
        assert position.asked == 2
        assert not select.select([reader], [], [], 0)[0]  # the news was read
    finally:
        os.close(reader)
        os.close(writer)


async def test_news_that_ends_leaves_the_steps_and_no_busy_loop() -> None:
    position = Position(step=0.05)
    reader, writer = os.pipe()
    os.set_blocking(reader, False)
    os.close(writer)  # end of file: readable for ever
    try:
        waiters = PositionWaiters(position.read, lambda: reader)
        assert await waiters.wait(1, 0.5) is False
        assert position.asked <= 15  # about one look per 50 ms step, not a spin
    finally:
        os.close(reader)
