"""Whole-bundle metrics: GJS, pair P/R/F1 and BCubed against hand-computed values."""

from __future__ import annotations

import pytest

from bundlekd.eval.metrics import aggregate, score_session
from bundlekd.eval.partition import bcubed_sums, co_bundled_pairs, greedy_jaccard


def fs(*bundles: str) -> list[frozenset[str]]:
    return [frozenset(b) for b in bundles]


def test_gjs_matches_greedily_and_divides_by_the_larger_side() -> None:
    # J(ab, abc) = 2/3 is taken first; cd then has J = 0 with nothing left: (2/3) / 2.
    assert greedy_jaccard(fs("ab", "cd"), fs("abc")) == pytest.approx(1 / 3)
    assert greedy_jaccard(fs("abc"), fs("abc")) == 1.0
    assert greedy_jaccard(fs("ab", "cd"), fs("ab", "cd")) == 1.0
    assert greedy_jaccard([], fs("ab")) == 0.0
    assert greedy_jaccard(fs("xy"), fs("ab")) == 0.0


def test_pairs_and_bcubed_of_a_split_bundle() -> None:
    assert co_bundled_pairs(fs("abc")) == {("a", "b"), ("a", "c"), ("b", "c")}
    # Gold {a,b,c}, d alone; predicted {a,b}, c and d alone.
    p, r, n = bcubed_sums(fs("ab"), fs("abc"), "abcd")
    assert n == 4
    assert p == pytest.approx(4.0)  # every predicted cluster is pure
    assert r == pytest.approx(2 / 3 + 2 / 3 + 1 / 3 + 1)


def test_score_session_whole_bundle_fields_and_pooling() -> None:
    pair_only = score_session([["a", "b"]], [["a", "b", "c"]], items="abcd")
    whole = score_session([["a", "b", "c"]], [["a", "b", "c"]], items="abcd")
    # The subset hit credits the fragment fully; the whole-bundle metrics do not.
    assert pair_only.precision("2025") == whole.precision("2025") == 1.0
    assert (pair_only.gjs, whole.gjs) == (pytest.approx(2 / 3), 1.0)
    assert (pair_only.pairs_pred, pair_only.pairs_gold, pair_only.pairs_common) == (1, 3, 1)
    agg = aggregate([pair_only, whole], "strict", "2025")
    assert agg.pair_precision == 1.0
    assert agg.pair_recall == pytest.approx(4 / 6)
    assert agg.pair_f1 == pytest.approx(2 * (4 / 6) / (1 + 4 / 6))
    assert agg.exact_precision == pytest.approx(0.5)
    assert agg.gjs == pytest.approx((2 / 3 + 1) / 2)
    assert agg.bcubed_precision == 1.0
    assert agg.bcubed_f1 < 1.0


def test_unreadable_output_scores_zero_in_strict_mode() -> None:
    broken = score_session([["a", "b"]], [["a", "b"]], parsed=False, items="abc")
    assert (broken.gjs, broken.pairs_common, broken.bcubed_precision_sum) == (0.0, 0, 0.0)
    assert broken.pairs_gold == 1
    assert broken.bcubed_items == 3
    strict = aggregate([broken], "strict", "2025")
    assert strict.gjs == 0.0
    assert strict.pair_recall == 0.0
    assert strict.bcubed_f1 == 0.0
    assert aggregate([broken], "aicl", "2025").n_sessions == 0  # dropped there


def test_overlapping_gold_bundles_use_extended_bcubed() -> None:
    # a sits in two gold bundles; predicting both exactly is perfect.
    p, r, n = bcubed_sums(fs("ab", "ac"), fs("ab", "ac"), "abc")
    assert (p, r, n) == (pytest.approx(3.0), pytest.approx(3.0), 3)
