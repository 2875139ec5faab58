"""Golden tests of the pure metrics on hand-worked sessions (numbers derived in the comments)."""

from __future__ import annotations

import pytest

from bundlekd.data.overlap import jaccard
from bundlekd.eval.metrics import (
    SessionScores,
    aggregate,
    aggregate_all,
    false_positive_rate,
    multi_item_bundles,
    score_session,
)

A = ["a1", "a2", "a3", "a4"]  # GT bundle 1
B = ["a3", "a4", "a5"]  # GT bundle 2: overlaps bundle 1 in {a3, a4}


def test_prediction_inside_two_overlapping_gt_bundles_counts_once_in_2024_twice_in_2025() -> None:
    # P = {a3,a4} (inside A and B), {a1,a2} (inside A), {a5,a6} (nowhere); {a6} is dropped.
    s = score_session([["a3", "a4"], ["a1", "a2"], ["a5", "a6"], ["a6"]], [A, B])
    assert (s.n_pred, s.n_gold) == (3, 2)
    # 2024: {a3,a4} -> first g is A: 2/4; {a1,a2} -> A: 2/4. hits 2.
    assert s.hits_2024 == 2
    assert s.coverage_sum_2024 == pytest.approx(2 / 4 + 2 / 4)
    assert s.precision("2024") == pytest.approx(2 / 3)
    assert s.recall("2024") == pytest.approx(2 / 2)
    # 2025: pairs (A,{a3,a4}), (A,{a1,a2}), (B,{a3,a4}) = 3; both GT hit.
    assert s.hit_pairs_2025 == 3
    assert s.gold_hit_2025 == 2
    assert s.coverage_sum_2025 == pytest.approx(2 / 4 + 2 / 4 + 2 / 3)
    assert s.precision("2025") == pytest.approx(3 / 3)
    assert s.recall("2025") == pytest.approx(2 / 2)


def test_2024_takes_the_first_containing_gt_bundle_for_coverage() -> None:
    # {a3,a4} is inside both; with B listed first its 2024 coverage is 2/3, not 2/4.
    s = score_session([["a3", "a4"]], [B, A])
    assert s.coverage_sum_2024 == pytest.approx(2 / 3)
    assert s.coverage_sum_2025 == pytest.approx(2 / 3 + 2 / 4)
    # 2025 precision exceeds 1: one prediction, two hit pairs (the reference's definition).
    assert s.precision("2025") == pytest.approx(2.0)
    assert s.precision("2024") == pytest.approx(1.0)


def test_splitting_one_gt_bundle_into_pairs_inflates_2024_recall_only() -> None:
    # GT {e1..e4}; P = {e1,e2}, {e3,e4}: 2024 recall 2/1 = 2.0, 2025 recall 1/1 = 1.0.
    s = score_session([["e1", "e2"], ["e3", "e4"]], [["e1", "e2", "e3", "e4"]])
    assert s.recall("2024") == pytest.approx(2.0)
    assert s.recall("2025") == pytest.approx(1.0)
    assert s.precision("2024") == s.precision("2025") == pytest.approx(1.0)


def test_item_ten_of_a_ten_item_session_is_an_ordinary_item() -> None:
    # The reference decodes "product10" by its last digit (int("0") - 1 = -1): it lands on the
    # last item only because sessions have at most 10 items. We score item ids, so b10 is b10.
    session = [f"b{k}" for k in range(1, 11)]
    s = score_session([[session[8], session[9]]], [["b8", "b9", "b10"]])
    assert (s.hits_2024, s.hit_pairs_2025) == (1, 1)
    assert s.coverage_sum_2024 == pytest.approx(2 / 3)


def test_one_item_and_empty_bundles_are_dropped_before_counting() -> None:
    assert multi_item_bundles([["x"], [], ["x", "y"], ["z", "z"]]) == [frozenset({"x", "y"})]
    s = score_session([["c1"], ["c2"]], [["c1", "c2"]])
    assert (s.n_pred, s.valid_output, s.precision("2025"), s.recall("2025")) == (0, False, 0.0, 0.0)


def test_invalid_output_scores_as_no_output_even_if_it_has_bundles() -> None:
    s = score_session([["c1", "c2"]], [["c1", "c2"]], parsed=False)
    assert (s.parsed, s.n_pred, s.hits_2024, s.valid_output) == (False, 0, 0, False)


def test_exact_match_and_jaccard_threshold() -> None:
    gold = [["g1", "g2", "g3"], ["h1", "h2"]]
    # P1 = {g1,g2,g3}: exact. P2 = {g1,g2}: J = 2/3 vs G1. P3 = {h1,x}: J = 1/3 vs G2.
    preds = [["g1", "g2", "g3"], ["g1", "g2"], ["h1", "x"]]
    s = score_session(preds, gold, tau=0.5)
    assert (s.exact_pred, s.exact_gold) == (1, 1)
    assert (s.jaccard_pred, s.jaccard_gold) == (2, 1)  # P1, P2 >= 0.5; only G1 reached
    loose = score_session(preds, gold, tau=1 / 3)
    assert (loose.jaccard_pred, loose.jaccard_gold) == (3, 2)
    strict = score_session(preds, gold, tau=1.0)
    assert (strict.jaccard_pred, strict.jaccard_gold) == (s.exact_pred, s.exact_gold)
    assert jaccard(["g1", "g2"], gold[0]) == pytest.approx(2 / 3)
    assert jaccard([], []) == 0.0


def _sessions() -> list[SessionScores]:
    return [
        # usable: P 1 of 2 hit, R 1 of 1 (2024 = 2025); coverage 2/4
        score_session([["a1", "a2"], ["x", "y"]], [["a1", "a2", "a3", "a4"]]),
        # all 1-item output: labelled, unusable
        score_session([["c1"]], [["c1", "c2"]]),
        # unparsable output: labelled, unusable
        score_session([], [["d1", "d2"]], parsed=False),
        # no GT bundle and a 2-item output: a false positive
        score_session([["n1", "n2"]], []),
        # no GT bundle and no output: correct silence
        score_session([], []),
    ]


def test_strict_counts_unusable_sessions_as_zeros_aicl_drops_them() -> None:
    scores = _sessions()
    strict = aggregate(scores, "strict", "2025")
    # labelled sessions: 3; precision (0.5 + 0 + 0)/3, recall (1 + 0 + 0)/3
    assert (strict.n_sessions, strict.n_labelled, strict.n_no_gold) == (3, 3, 2)
    assert strict.precision == pytest.approx(0.5 / 3)
    assert strict.recall == pytest.approx(1 / 3)
    assert strict.coverage == pytest.approx(0.5)  # one hit, 2/4
    assert strict.valid_output_rate == pytest.approx(1 / 3)
    assert strict.fp_rate == pytest.approx(1 / 2)
    aicl = aggregate(scores, "aicl", "2025")
    assert aicl.n_sessions == 1
    assert (aicl.precision, aicl.recall, aicl.coverage) == pytest.approx((0.5, 1.0, 0.5))
    # the valid-output rate and the FP rate do not depend on the mode
    assert aicl.valid_output_rate == strict.valid_output_rate
    assert aicl.fp_rate == strict.fp_rate


def test_aggregate_all_has_every_variant_and_empty_groups_give_zeros() -> None:
    variants = aggregate_all(_sessions())
    assert sorted(variants) == ["aicl-2024", "aicl-2025", "strict-2024", "strict-2025"]
    empty = aggregate([], "aicl", "2024")
    assert (empty.precision, empty.coverage, empty.n_sessions, empty.fp_rate) == (0.0, 0.0, 0, None)
    assert false_positive_rate([]) == 0.0
