"""The exact best partition: equal to brute force, deterministic, with a fallback pair."""

from __future__ import annotations

import numpy as np

from bundlekd.knowledge_base.grouping.cluster import group_items
from bundlekd.knowledge_base.grouping.partition import (
    best_partition,
    greedy_merge,
    log_odds_weights,
)


def _partitions(items: list[int]):  # type: ignore[no-untyped-def]
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _partitions(rest):
        yield [[first], *partition]
        for k in range(len(partition)):
            yield [*partition[:k], [first, *partition[k]], *partition[k + 1 :]]


def _value(weights: np.ndarray, groups: list[list[int]]) -> float:
    return sum(weights[i, j] for g in groups for a, i in enumerate(g) for j in g[a + 1 :])


def test_equals_brute_force_on_random_weights() -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(2, 8))
        weights = rng.normal(size=(n, n))
        weights = (weights + weights.T) / 2
        groups = best_partition(weights)
        optimum = max(_value(weights, p) for p in _partitions(list(range(n))))
        assert abs(_value(weights, groups) - optimum) < 1e-9
        assert all(len(g) >= 2 for g in groups)
        assert groups == best_partition(weights.copy())  # deterministic


def test_a_confident_triple_stays_whole_and_an_outsider_stays_alone() -> None:
    p = np.full((5, 5), 0.05)
    np.fill_diagonal(p, 1.0)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        p[i, j] = p[j, i] = 0.8
    p[3, 4] = p[4, 3] = 0.3
    assert best_partition(log_odds_weights(p, 0.5)) == [[0, 1, 2]]
    assert best_partition(log_odds_weights(p, 0.2)) == [[0, 1, 2], [3, 4]]
    # nothing above the threshold: the fallback pair is the surest pair
    assert group_items(p, "partition", 0.9) == [[0, 1]]
    assert group_items(p, "partition", 0.9, fallback_pair=False) == []


def test_sessions_past_the_exact_limit_use_the_greedy_merge() -> None:
    p = np.full((14, 14), 0.05)
    for block in (range(0, 5), range(5, 9)):
        for i in block:
            for j in block:
                p[i, j] = 0.9
    weights = log_odds_weights(p, 0.5)
    assert best_partition(weights) == greedy_merge(weights) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]
