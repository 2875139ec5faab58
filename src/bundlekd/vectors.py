"""Exact (brute-force) cosine top-k over unit-norm rows: the one search every exact index uses.

`ExampleIndex` (worked examples), `CategoryInferencer` (nearest training title) and `NumpyIndex`
(the KB fallback index) all rank a matrix product and keep the k best. They share this module
so that ties, masked entries and the partial sort behave the same everywhere. NumPy only.
"""

from __future__ import annotations

import numpy as np


def cosine_scores(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(n_queries, n_rows) cosine similarities of unit-norm vectors (a dot product suffices).

    Args:
        queries: one vector (1-d) or one per row (2-d), L2-normalised.
        rows: the searched vectors, one per row, L2-normalised.
    """
    result: np.ndarray = np.atleast_2d(queries) @ np.asarray(rows).T
    return result


def top_k_indices(scores: np.ndarray, k: int, *, tie_rank: np.ndarray | None = None) -> np.ndarray:
    """Positions of the k highest finite scores of one row, best first.

    Non-finite entries (-inf marks a masked-out row) are never returned. Equal scores are
    ordered by `tie_rank` (lower first), by default by position, so results are deterministic
    even when ties straddle the k-th place.

    Args:
        scores: one row of scores.
        k: how many to return at most.
        tie_rank: an integer rank per position that breaks ties (e.g. the rank of each id).

    Returns:
        An int array of at most k positions.
    """
    scores = np.asarray(scores)
    candidates = np.flatnonzero(np.isfinite(scores))
    k = min(k, candidates.size)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    values = scores[candidates]
    if k < candidates.size:
        # A partial sort finds the k-th best value; every candidate tied with it stays, so the
        # tie rank (not the partition's arbitrary choice) decides who makes the cut.
        kth = np.partition(values, candidates.size - k)[candidates.size - k]
        keep = values >= kth
        candidates, values = candidates[keep], values[keep]
    ranks = candidates if tie_rank is None else np.asarray(tie_rank)[candidates]
    order = np.lexsort((ranks, -values))
    result: np.ndarray = candidates[order[:k]]
    return result
