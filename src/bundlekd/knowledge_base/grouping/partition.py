"""The best partition of a session's items by summed pair weights (pure, deterministic).

Correlation clustering: given a weight w(i, j) per item pair (positive: together is likely,
negative: apart is likely), find the grouping of the items into disjoint bundles (items may stay
alone) that maximises the summed weight of the pairs inside bundles. With w = log-odds of the
pair probability minus the log-odds of a threshold, it is the most probable partition under
independent pair probabilities, tilted by the threshold: the threshold trades larger bundles
against surer ones (DESIGN.md §3, "where the headroom is").

Sessions hold 2-10 items, so the optimum is exact: a dynamic programme over item subsets,
f(S) = max over T ⊆ S holding S's lowest item of value(T) + f(S \\ T), computed level by level
(subsets of one size at a time) with numpy. The (S, T) index tables depend only on n and are
built once per n (about (3^n + 1) / 2 rows: 29,525 for 10 items). Past `MAX_EXACT` items the
greedy merge of correlation clustering (join the two groups whose cross weight is largest
while it is positive) stands in.

Hand-written: scipy/sklearn offer no exact correlation clustering, and an ILP solver for a
10-item problem would cost more than the whole tool.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

MAX_EXACT = 12  # 3^12 / 2 ≈ 266k table rows; larger sessions use the greedy merge
_EPS = 1e-6


def log_odds_weights(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """w(i, j) = logit(p_ij) - logit(threshold): positive where p_ij > threshold."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1.0 - _EPS)
    t = min(max(threshold, _EPS), 1.0 - _EPS)
    weights = np.log(p / (1.0 - p)) - math.log(t / (1.0 - t))
    np.fill_diagonal(weights, 0.0)
    return weights


def best_partition(weights: np.ndarray) -> list[list[int]]:
    """Groups of >= 2 items (0-based, sorted, ordered by first item) maximising the summed
    within-group pair weight; items whose every grouping costs weight stay alone.

    Ties go to the grouping found first in a fixed subset order, so the same weights always
    give the same groups.
    """
    n = weights.shape[0]
    if n < 2:
        return []
    if n > MAX_EXACT:
        return greedy_merge(weights)
    symmetric = (
        np.asarray(weights, dtype=np.float64) + np.asarray(weights, dtype=np.float64).T
    ) / 2
    value = _subset_values(symmetric)
    tables = _tables(n)
    best = np.zeros(1 << n)
    block = np.zeros(1 << n, dtype=np.int64)  # the block holding S's lowest item, per S
    for rows_s, rows_t, starts, subsets, sizes in tables.levels:
        candidates = value[rows_t] + best[rows_s ^ rows_t]
        maxima = np.maximum.reduceat(candidates, starts)
        # the first maximal row of each S: ties resolve in the tables' fixed order
        at_max = candidates >= np.repeat(maxima, sizes) - 1e-12
        first = np.minimum.reduceat(np.where(at_max, tables.order[: len(rows_t)], 1 << 62), starts)
        best[subsets] = maxima
        block[subsets] = rows_t[first]
    groups = []
    remaining = (1 << n) - 1
    while remaining:
        group = int(block[remaining])
        members = [i for i in range(n) if group >> i & 1]
        if len(members) >= 2:
            groups.append(members)
        remaining ^= group
    return sorted(groups, key=lambda g: g[0])


def trim_groups(
    groups: list[list[int]],
    probabilities: np.ndarray,
    *,
    member_floor: float = 0.0,
    bundle_floor: float = 0.0,
) -> list[list[int]]:
    """Keep only confident bundles and members (both floors 0: the groups as they are).

    - member floor: in a group of 3 or more, the member with the lowest mean probability to
      the others leaves while that mean is below the floor (a bundle is completed only with
      items whose evidence to the whole bundle is high);
    - bundle floor: groups whose mean pair probability is below the floor are dropped, except
      the surest one (leaving unsure items unbundled; most sessions hold a bundle).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    trimmed = []
    for group in groups:
        members = list(group)
        while len(members) > 2:
            block = p[np.ix_(members, members)]
            means = (block.sum(axis=1) - np.diag(block)) / (len(members) - 1)
            weakest = int(np.argmin(means))  # the first of equals: deterministic
            if means[weakest] >= member_floor:
                break
            del members[weakest]
        trimmed.append(members)
    if bundle_floor <= 0.0 or not trimmed:
        return trimmed
    means = [_mean_pair(p, g) for g in trimmed]
    kept = [g for g, m in zip(trimmed, means, strict=True) if m >= bundle_floor]
    if not kept:
        kept = [trimmed[int(np.argmax(means))]]
    return kept


def greedy_merge(weights: np.ndarray) -> list[list[int]]:
    """Join the two groups with the largest positive cross weight until none is positive."""
    n = weights.shape[0]
    symmetric = (
        np.asarray(weights, dtype=np.float64) + np.asarray(weights, dtype=np.float64).T
    ) / 2
    groups: list[list[int]] = [[i] for i in range(n)]
    cross = symmetric.copy()
    np.fill_diagonal(cross, -np.inf)
    while len(groups) > 1:
        flat = int(np.argmax(cross))
        a, b = divmod(flat, len(groups))
        if cross[a, b] <= 0.0:
            break
        a, b = min(a, b), max(a, b)
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b]
        merged = cross[a] + cross[b]
        cross[a], cross[:, a] = merged, merged
        cross[a, a] = -np.inf
        cross = np.delete(np.delete(cross, b, axis=0), b, axis=1)
    return sorted((g for g in groups if len(g) >= 2), key=lambda g: g[0])


class _Tables:
    """(S, T) rows of the dynamic programme for n items, grouped by |S|."""

    def __init__(self, n: int) -> None:
        full = 1 << n
        popcount = np.array([bin(m).count("1") for m in range(full)], dtype=np.int64)
        lowest = np.array([m & -m for m in range(full)], dtype=np.int64)
        self.levels: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for size in range(1, n + 1):
            subsets = np.flatnonzero(popcount == size)
            rows_s: list[int] = []
            rows_t: list[int] = []
            starts: list[int] = []
            for s in subsets.tolist():
                low = int(lowest[s])
                rest = s ^ low
                starts.append(len(rows_s))
                sub = rest
                while True:  # every T = low | (subset of the rest)
                    rows_s.append(s)
                    rows_t.append(sub | low)
                    if sub == 0:
                        break
                    sub = (sub - 1) & rest
            begin = np.array(starts, dtype=np.int64)
            self.levels.append(
                (
                    np.array(rows_s, dtype=np.int64),
                    np.array(rows_t, dtype=np.int64),
                    begin,
                    subsets,
                    np.diff(np.append(begin, len(rows_s))),
                )
            )
        longest = max(len(level[0]) for level in self.levels)
        self.order = np.arange(longest, dtype=np.int64)


@lru_cache(maxsize=MAX_EXACT + 1)
def _tables(n: int) -> _Tables:
    return _Tables(n)


def _subset_values(weights: np.ndarray) -> np.ndarray:
    """value[mask] = Σ_{i<j in mask} w(i, j) for every subset (singletons and ∅ are 0)."""
    n = weights.shape[0]
    masks = np.arange(1 << n, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)
    upper = np.triu(weights, k=1)
    values: np.ndarray = np.einsum("mi,ij,mj->m", bits, upper, bits)
    return values


def _symmetric(weights: np.ndarray) -> np.ndarray:
    matrix = np.asarray(weights, dtype=np.float64)
    return (matrix + matrix.T) / 2


def _mean_pair(p: np.ndarray, group: list[int]) -> float:
    block = p[np.ix_(group, group)]
    k = len(group)
    return float((block.sum() - np.trace(block)) / (k * (k - 1)))
