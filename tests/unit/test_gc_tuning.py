"""The collector's settings every long-running slaclock process starts with."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from service.gc_tuning import THRESHOLDS, collect_less_often


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    gc.unfreeze()
    collect_less_often()
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] >= 50 * 700  # Python's default young threshold is 700
    assert gc.get_freeze_count() > 0  # what start-up built is not walked again
