"""Exact top-k per row, equal to a stable full sort, and when products may be reshaped.

`stable_top_k(scores, k)` returns what `np.argsort(-scores, axis=1, kind="stable")[:, :k]`
returns (ties by column, -inf last, in column order), without sorting whole rows: one
partition per matrix finds each row's k-th best value, and only the entries at least that good
are sorted. The item memory and the learned scorer's memory neighbours use it, so their
neighbours (and the proposals built on them) are the ones a full sort gives. NumPy only.

`shape_stable(rows, columns, dim)`: whether a product that large gets the same bits per entry
as any other product of the same vectors (stacked rows, a subset or a permutation of columns).
BLAS (OpenBLAS here) computes small products with other kernels (no blocking over the
dimension, gemv for one row), which round differently; large ones go through the blocked path,
whose per-entry sum runs over the dimension in the same order whatever the shapes. Reshaped
products (one per domain for a batch, a domain's block of the item memory) are used only for
shape-stable sizes, so predictions never depend on how sessions were batched.
`tests/knowledge_base/test_memory_products.py` checks the assumption on the machine it runs on.
"""

from __future__ import annotations

import numpy as np

#: rows x columns x dim from which products are shape-stable: mismatches were seen up to
#: ~0.8M on the dev box (OpenBLAS 0.3, AVX-512), none above; 2.5x that for a margin.
STABLE_PRODUCT = 2_000_000


def shape_stable(rows: int, columns: int, dim: int) -> bool:
    """Whether (rows x dim) @ (dim x columns) is large enough to be shape-stable (see above)."""
    return rows >= 2 and rows * columns * dim >= STABLE_PRODUCT


def stable_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(rows, k) column indices of each row's k best scores, best first, ties by column.

    Args:
        scores: a 2-d float array without NaN (-inf allowed: it ranks last).
        k: how many per row; at most the number of columns.
    """
    rows, width = scores.shape
    k = min(k, width)
    if k <= 0 or rows == 0:
        return np.zeros((rows, max(k, 0)), dtype=np.intp)
    negated = -scores
    if k == width:
        result: np.ndarray = np.argsort(negated, axis=1, kind="stable")
        return result
    # The k-th smallest negated score per row; every entry at most that is a candidate, so a
    # tie straddling the k-th place keeps all its members and the column order decides.
    kth = np.partition(negated, k - 1, axis=1)[:, k - 1 : k]
    row, column = np.nonzero(negated <= kth)
    order = np.lexsort((column, negated[row, column], row))
    row, column = row[order], column[order]
    starts = np.searchsorted(row, np.arange(rows))
    take = starts[:, None] + np.arange(k)[None, :]
    chosen: np.ndarray = column[take]
    return chosen
