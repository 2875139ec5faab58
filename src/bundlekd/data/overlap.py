"""Set overlap of bundles: the one Jaccard similarity, shared by evaluation and distillation.

It lives in the data layer because both users may import data but not each other: `eval` scores
predictions with it (the J >= τ metric), `knowledge_base` picks the reference bundle of its
ground-truth feedback with it.
"""

from __future__ import annotations

from collections.abc import Iterable


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """|a ∩ b| / |a ∪ b| of two item sets (0.0 when both are empty).

    Example:
        >>> jaccard(["a", "b"], ["b", "c"])
        0.3333333333333333
    """
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0
