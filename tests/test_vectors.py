"""The one brute-force cosine top-k (bundlekd.vectors)."""

from __future__ import annotations

import numpy as np

from bundlekd.vectors import cosine_scores, top_k_indices


def test_best_first_and_masked_entries_are_never_returned() -> None:
    scores = np.array([0.2, 0.9, -np.inf, 0.5, 0.7])
    assert top_k_indices(scores, 3).tolist() == [1, 4, 3]
    assert top_k_indices(scores, 10).tolist() == [1, 4, 3, 0]  # -inf is excluded
    assert top_k_indices(scores, 0).tolist() == []
    assert top_k_indices(np.full(3, -np.inf), 2).tolist() == []


def test_ties_break_by_position_even_across_the_cut() -> None:
    scores = np.array([0.1, 0.5, 0.5, 0.9, 0.5, 0.5])
    assert top_k_indices(scores, 3).tolist() == [3, 1, 2]
    # A tie rank overrides position: here the reverse order.
    assert top_k_indices(scores, 3, tie_rank=np.arange(6)[::-1]).tolist() == [3, 5, 4]


def test_cosine_scores_of_unit_rows() -> None:
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    scores = cosine_scores(np.array([0.6, 0.8], dtype=np.float32), rows)
    assert scores.shape == (1, 3)
    assert np.allclose(scores[0], [0.6, 0.8, 1.0])
    assert top_k_indices(scores[0], 1).tolist() == [2]
