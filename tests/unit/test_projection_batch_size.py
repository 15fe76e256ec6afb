"""The follower's batch grows while it is behind and quick, and shrinks back once caught up."""

from projections.runner import next_batch_size


def test_a_full_quick_batch_doubles_the_next_one_up_to_the_largest() -> None:
    sizes = [500]
    for _ in range(8):
        sizes.append(next_batch_size(sizes[-1], True, 0.1, 500, 20_000))
    assert sizes == [500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000]


def test_a_full_slow_batch_halves_the_next_one_down_to_the_smallest() -> None:
    assert next_batch_size(16_000, True, 0.9, 500, 20_000) == 8000
    assert next_batch_size(600, True, 0.9, 500, 20_000) == 500


def test_caught_up_goes_back_to_the_smallest_batch() -> None:
    assert next_batch_size(16_000, False, 0.1, 500, 20_000) == 500
    assert next_batch_size(500, False, 2.0, 500, 20_000) == 500
