"""Readers waiting for the projections to reach a position, served by one poller per loop.

Each ``min_position`` read used to poll the position itself every 2 ms: at a
few hundred writes a second, each followed by its read, dozens of readers woke
the event loop 16,000 times a second between them, and the loop spent more time
resuming waiters than serving requests (read-your-writes took 140 ms at 150
writes a second). Now a waiter is a future; one poller task per event loop
looks at the position while anyone waits and resolves every future it reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

ERROR_STEP_SECONDS = 0.1


@dataclass
class _Loop:
    waiting: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    poller: asyncio.Task[None] | None = None


class PositionWaiters:
    def __init__(self, position: Callable[[], Awaitable[tuple[int, float]]]) -> None:
        """``position()``: the position now, and how long to wait before asking again."""
        self._position = position
        self._loops: dict[asyncio.AbstractEventLoop, _Loop] = {}

    async def wait(self, position: int, timeout: float) -> bool:
        """True once the position reaches ``position``; False after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        state = self._loops.setdefault(loop, _Loop())
        future: asyncio.Future[None] = loop.create_future()
        entry = (position, future)
        state.waiting.append(entry)
        if state.poller is None or state.poller.done():
            state.poller = loop.create_task(self._poll(loop, state))
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            if entry in state.waiting:
                state.waiting.remove(entry)

    async def _poll(self, loop: asyncio.AbstractEventLoop, state: _Loop) -> None:
        try:
            while state.waiting:
                try:
                    reached, step = await self._position()
                except Exception:  # the database may be out: the waiters time out, or not
                    log.warning("could not read the projections' position", exc_info=True)
                    reached, step = -1, ERROR_STEP_SECONDS
                still = []
                for wanted, future in state.waiting:
                    if wanted <= reached:
                        if not future.done():
                            future.set_result(None)
                    elif not future.done():
                        still.append((wanted, future))
                state.waiting[:] = still
                if state.waiting:
                    await asyncio.sleep(step)
        finally:
            if not state.waiting:
                self._loops.pop(loop, None)
