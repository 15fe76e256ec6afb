"""The follower's batch grows while it is behind and shrinks back once caught up."""

from projections.runner import next_batch_size


def test_a_full_batch_doubles_the_next_one_up_to_the_largest() -> None:
    sizes = [500]
    for _ in range(8):
        sizes.append(next_batch_size(sizes[-1], True, 500, 20_000))
    assert sizes == [500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000, 20_000]


def test_caught_up_goes_back_to_the_smallest_batch() -> None:
    assert next_batch_size(16_000, False, 500, 20_000) == 500
    assert next_batch_size(500, False, 500, 20_000) == 500
