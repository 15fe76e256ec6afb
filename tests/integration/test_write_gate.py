"""The SQLite write gate: writers exclude each other across threads, and a missing
directory leaves the failure to the write itself."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from projections.write_gate import gate_path, write_gate


def test_two_threads_never_hold_the_gate_together(tmp_path: Path) -> None:
    database = tmp_path / "slaclock.db"
    inside = 0
    overlaps = 0
    lock = threading.Lock()

    def writer() -> None:
        nonlocal inside, overlaps
        for _ in range(50):
            with write_gate(database):
                with lock:
                    inside += 1
                    overlaps += inside > 1
                time.sleep(0.0005)
                with lock:
                    inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == 0
    assert gate_path(database).exists()


def test_a_thread_inside_does_not_wait_for_itself(tmp_path: Path) -> None:
    database = tmp_path / "slaclock.db"
    with write_gate(database), write_gate(database):
        entered = True
    assert entered


def test_a_missing_directory_is_left_to_the_write(tmp_path: Path) -> None:
    database = tmp_path / "gone" / "slaclock.db"
    with write_gate(database):
        reached = True
    assert reached
    assert not gate_path(database).exists()
