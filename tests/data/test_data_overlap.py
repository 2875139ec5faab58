"""The one Jaccard similarity (bundlekd.data.overlap), used by eval and by distillation feedback."""

from __future__ import annotations

import pytest

from bundlekd.data.overlap import jaccard


def test_jaccard_of_sets() -> None:
    assert jaccard(["a", "b"], ["b", "c"]) == 1 / 3
    assert jaccard(("a", "a", "b"), {"a", "b"}) == 1.0  # sets: duplicates do not count
    assert jaccard(["a"], ["b"]) == 0.0
    assert jaccard([], []) == 0.0
    assert jaccard(frozenset({"g1", "g2"}), ["g1", "g2", "g3"]) == pytest.approx(2 / 3)
