"""The ingest gate: when a write waits for the projections, and when it never does."""

from __future__ import annotations

import asyncio

from service.storage.lag_gate import MAX_TRACKED_COMMITS, LagGate

MAX_LAG = 0.5
STALL = 5.0


class Scene:
    """A gate with a hand-moved clock and projection position."""

    def __init__(self, *, head: int = 0, position: int | None = 0) -> None:
        self.now = 100.0
        self.position = position
        self.waited: list[tuple[int, float]] = []
        self.gate = LagGate(
            MAX_LAG,
            lambda: self.position,
            self._wait_for,
            head=head,
            stall_seconds=STALL,
            clock=lambda: self.now,
        )

    async def _wait_for(self, position: int, timeout: float) -> bool:
        self.waited.append((position, timeout))
        return True

    def commit(self, position: int, after: float = 0.0) -> None:
        self.now += after
        self.gate.committed(position)


def test_no_write_waits_while_nothing_committed_is_older_than_the_bound() -> None:
    scene = Scene()
    assert scene.gate.overdue() is None
    scene.commit(10)
    scene.commit(20, after=MAX_LAG)
    assert scene.gate.overdue() is None


def test_a_write_waits_for_every_write_committed_more_than_the_bound_ago() -> None:
    scene = Scene()
    scene.commit(10)
    scene.commit(20, after=0.2)
    scene.commit(30, after=0.2)
    scene.now += 0.35  # 10 and 20 were committed over 0.5 s ago, 30 only 0.35 s ago
    scene.position = 5
    assert scene.gate.overdue() == 20
    scene.position = 20
    assert scene.gate.overdue() is None


def test_admit_waits_for_the_overdue_position_at_most_the_stall_time() -> None:
    scene = Scene()
    asyncio.run(scene.gate.admit())
    assert scene.waited == []
    scene.commit(10)
    scene.position = 1
    scene.now += MAX_LAG + 0.1
    asyncio.run(scene.gate.admit())
    assert scene.waited == [(10, STALL)]
    assert scene.gate.waits == 1


def test_a_projection_that_stopped_moving_holds_no_write_until_it_catches_up() -> None:
    scene = Scene()
    scene.position = 3
    scene.commit(10)
    scene.now += 1.0
    assert scene.gate.overdue() == 10  # it moved to 3 just now
    scene.commit(20, after=STALL + 0.1)
    assert scene.gate.overdue() is None  # still at 3 after more than the stall time
    scene.commit(30, after=1.0)
    scene.position = 10  # moving again, but behind what was written when it stalled
    scene.now += 1.0
    assert scene.gate.overdue() is None
    scene.position = 20  # caught up with the stall's writes: the gate holds again
    scene.now += 0.1
    assert scene.gate.overdue() == 30


def test_a_slow_step_is_not_a_stall_when_the_writes_it_lacks_are_recent() -> None:
    scene = Scene(position=3)
    scene.commit(3)
    scene.now += 1.0
    assert scene.gate.overdue() is None  # seen at 3, caught up
    scene.now += 60.0  # idle for a minute: the position has not moved since
    scene.commit(10)
    scene.now += 1.0
    assert scene.gate.overdue() == 10


def test_an_old_backlog_at_start_holds_no_write_until_it_is_projected() -> None:
    scene = Scene(head=1000, position=400)
    scene.commit(1010)
    scene.now += 1.0
    scene.position = 600
    assert scene.gate.overdue() is None
    scene.position = 1000
    scene.now += 0.1
    assert scene.gate.overdue() == 1010


def test_projections_not_following_here_hold_no_write_until_they_catch_up_again() -> None:
    scene = Scene()
    scene.commit(10)
    scene.now += 1.0
    scene.position = None  # the child is restarting, or another process follows
    assert scene.gate.overdue() is None
    scene.commit(20)
    scene.now += 1.0
    scene.position = 5
    assert scene.gate.overdue() is None  # behind the writes made while away
    scene.position = 10
    assert scene.gate.overdue() == 20


def test_the_commits_it_tracks_are_bounded() -> None:
    scene = Scene(position=None)
    for position in range(MAX_TRACKED_COMMITS + 10):
        scene.gate.committed(position)
    assert scene.gate.tracked_commits == MAX_TRACKED_COMMITS
