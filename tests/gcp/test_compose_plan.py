"""merge_runs: which parts of a streamed upload are composed first, so that one compose makes the object."""

from __future__ import annotations

from itertools import pairwise

import pytest

from linehaul.gcp.uploads import COMPOSE_LIMIT, merge_runs


def _compose_all(count: int, limit: int) -> tuple[int, int]:
    """Apply merge_runs pass after pass to ``count`` sources: (passes, sources merged before the last one).

    Checks each pass on the way: runs start at the first source, follow one another, hold 2 to ``limit``
    sources, and leave fewer sources than before.
    """
    passes, merged = 0, 0
    while count > limit:
        runs = merge_runs(count, limit)
        assert runs[0][0] == 0
        assert all(stop == start for (_, stop), (start, _) in pairwise(runs))
        assert all(2 <= stop - start <= limit for start, stop in runs)
        remaining = len(runs) + count - runs[-1][1]
        assert remaining < count
        merged += runs[-1][1]
        count, passes = remaining, passes + 1
    return passes, merged


def test_no_merging_when_one_compose_will_do() -> None:
    assert merge_runs(1) == []
    assert merge_runs(COMPOSE_LIMIT) == []


@pytest.mark.parametrize(
    ("count", "runs"),
    [
        (33, [(0, 2)]),  # two parts become one: 32 sources
        (35, [(0, 4)]),  # a 1M-line log's downloads in 16 MiB parts: 4 parts merged, not 32
        (63, [(0, 32)]),
        (64, [(0, 32), (32, 34)]),
    ],
)
def test_merges_only_what_the_last_compose_cannot_take(count: int, runs: list[tuple[int, int]]) -> None:
    assert merge_runs(count) == runs


@pytest.mark.parametrize("limit", [2, 3, 5, COMPOSE_LIMIT])
def test_every_count_ends_in_one_compose(limit: int) -> None:
    for count in range(1, 3 * limit * limit):
        passes, merged = _compose_all(count, limit)
        if count <= limit:
            assert (passes, merged) == (0, 0)
        elif count <= limit * limit:
            assert passes == 1, count  # one pass of merges is enough up to limit squared sources
            excess = count - limit
            runs = -(-excess // (limit - 1))  # each run of k sources removes k - 1
            assert merged == excess + runs, count  # no source merged that need not be
        else:
            assert passes >= 2, count


def test_limit_must_allow_a_merge() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        merge_runs(10, limit=1)
