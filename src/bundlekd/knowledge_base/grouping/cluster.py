"""Pair scores -> disjoint groups of >= 2 items (pure, deterministic).

Hierarchical agglomerative clustering (scipy) on distance = 1 - score, cut at a threshold; every
cluster of >= 2 items is a group. When nothing clusters, the `fallback_pair` option returns the
best-scoring pair as the one group: most sessions hold at least one bundle, so saying nothing
scores zero while the best pair is usually right (DESIGN.md §7).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Linkage = Literal["average", "complete", "single"]
LINKAGES: tuple[Linkage, ...] = ("average", "complete", "single")
#: How scores become groups: an agglomerative linkage, "pairs" (disjoint best pairs), or
#: "partition" (the partition with the largest summed pair log-odds past the threshold).
Policy = Literal["average", "complete", "single", "pairs", "partition"]
POLICIES: tuple[Policy, ...] = ("average", "complete", "single", "pairs", "partition")


def best_pair(scores: np.ndarray) -> tuple[int, int] | None:
    """The highest-scoring pair (i < j); ties go to the earliest pair in session order."""
    n = scores.shape[0]
    if n < 2:
        return None
    upper = np.triu_indices(n, k=1)
    values = scores[upper]
    index = int(np.argmax(values))  # argmax returns the first maximum: row-major = session order
    return int(upper[0][index]), int(upper[1][index])


def cluster_groups(
    scores: np.ndarray,
    threshold: float,
    *,
    linkage: Linkage = "average",
    fallback_pair: bool = True,
) -> list[list[int]]:
    """Disjoint groups (0-based item indices, each sorted, groups ordered by first item).

    Args:
        scores: (n, n) symmetric pair scores in [0, 1] (cosine or probability); the diagonal
            is ignored.
        threshold: items join while the linkage score of their clusters is >= threshold.
        linkage: how the score of two clusters is read from their items' pair scores.
        fallback_pair: when no group forms, return the best pair as the one group.
    """
    from scipy.cluster.hierarchy import fcluster
    from scipy.cluster.hierarchy import linkage as hierarchy
    from scipy.spatial.distance import squareform

    n = scores.shape[0]
    if n < 2:
        return []
    symmetric = (np.asarray(scores, dtype=np.float64) + np.asarray(scores, dtype=np.float64).T) / 2
    distance = np.clip(1.0 - symmetric, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = hierarchy(squareform(distance, checks=False), method=linkage)
    # fcluster joins while the merge distance is <= t; a tiny epsilon keeps "score == threshold"
    labels = fcluster(tree, t=1.0 - threshold + 1e-9, criterion="distance")
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        members.setdefault(label, []).append(index)
    groups = sorted((sorted(m) for m in members.values() if len(m) >= 2), key=lambda g: g[0])
    if not groups and fallback_pair:
        pair = best_pair(symmetric)
        if pair is not None:
            groups = [list(pair)]
    return groups


def greedy_pairs(scores: np.ndarray, threshold: float) -> list[list[int]]:
    """The best pair, then every further pair of two unused items scoring >= threshold.

    Pairs are visited best first (ties in session order). Precision rewards a sure pair over
    a larger, less sure group; the cost shows in coverage (DESIGN.md §3).
    """
    n = scores.shape[0]
    ranked = sorted((-float(scores[i, j]), i, j) for i in range(n) for j in range(i + 1, n))
    used: set[int] = set()
    groups: list[list[int]] = []
    for negative, i, j in ranked:
        if groups and -negative < threshold:
            break
        if i in used or j in used:
            continue
        groups.append([i, j])
        used |= {i, j}
    return groups


def group_items(
    scores: np.ndarray,
    policy: Policy,
    threshold: float,
    *,
    fallback_pair: bool = True,
    member_floor: float = 0.0,
    bundle_floor: float = 0.0,
    solved: list[list[int]] | None = None,
) -> list[list[int]]:
    """Groups by `policy` (an agglomerative linkage, "pairs" or "partition"; the floors
    trim the partition's groups, `partition.trim_groups`). `solved`: the untrimmed partition
    at this threshold when the caller already has it (a search over floors solves it once)."""
    if policy == "pairs":
        return greedy_pairs(scores, threshold) if scores.shape[0] >= 2 else []
    if policy == "partition":
        from bundlekd.knowledge_base.grouping.partition import trim_groups

        if solved is None:
            solved = solve_partition(scores, threshold)
        groups = trim_groups(solved, scores, member_floor=member_floor, bundle_floor=bundle_floor)
        if not groups and fallback_pair:
            pair = best_pair((np.asarray(scores) + np.asarray(scores).T) / 2)
            groups = [list(pair)] if pair is not None else []
        return groups
    return cluster_groups(scores, threshold, linkage=policy, fallback_pair=fallback_pair)


def solve_partition(scores: np.ndarray, threshold: float) -> list[list[int]]:
    """The exact best partition of the pair probabilities at `threshold`, before any floor."""
    from bundlekd.knowledge_base.grouping.partition import best_partition, log_odds_weights

    return best_partition(log_odds_weights(scores, threshold))
