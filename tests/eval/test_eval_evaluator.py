"""evaluate(): matching predictions to gold, missing/unknown sessions, domains, floor, FP rate."""

from __future__ import annotations

import pytest
from eval_builders import ids, make_prediction, make_session
from pydantic import ValidationError

from bundlekd.errors import DataError
from bundlekd.eval import EvalConfig, evaluate, pair_floor


def _two_domains():
    gold = [
        make_session("1", ids("a", 4), [["a1", "a2", "a3"]], domain="electronic"),
        make_session("2", ids("b", 3), [["b2", "b3"]], domain="electronic"),
        make_session("1", ids("c", 3), [["c1", "c2"]], domain="food"),
    ]
    predictions = [
        make_prediction("1", [["a1", "a2"]], domain="electronic"),  # hit, cov 2/3
        make_prediction("2", [["b1", "b2"]], domain="electronic"),  # miss
        make_prediction("1", [["c1", "c2"]], domain="food"),  # exact hit, cov 1
    ]
    return predictions, gold


def test_per_domain_groups_and_pooled_overall() -> None:
    predictions, gold = _two_domains()
    report = evaluate(predictions, gold)
    assert [g.domain for g in report.groups] == ["electronic", "food", "overall"]
    electronic = report.group("electronic").headline
    assert (electronic.precision, electronic.recall) == pytest.approx((0.5, 0.5))
    assert electronic.coverage == pytest.approx(2 / 3)
    food = report.group("food").headline
    assert (food.precision, food.recall, food.coverage) == pytest.approx((1.0, 1.0, 1.0))
    overall = report.group().headline
    # pooled over 3 sessions (not the mean of domain means): P (1+0+1)/3, cov (2/3+1)/2
    assert overall.precision == pytest.approx(2 / 3)
    assert overall.coverage == pytest.approx((2 / 3 + 1) / 2)
    assert overall.exact_precision == pytest.approx(1 / 3)
    assert report.method == "test-method"
    assert len(report.samples) == 3


def test_every_group_carries_the_pair_floor() -> None:
    predictions, gold = _two_domains()
    report = evaluate(predictions, gold)
    # floor predicts products 1+2: {a1,a2} hit (2/3), {b1,b2} miss, {c1,c2} exact hit
    floor = report.group().floor["strict-2025"]
    assert (floor.precision, floor.recall) == pytest.approx((2 / 3, 2 / 3))
    assert all(g.floor is not None for g in report.groups)
    assert evaluate(predictions, gold, EvalConfig(with_floor=False)).group().floor is None


def test_pair_floor_predicts_products_one_and_two() -> None:
    gold = [make_session("9", ["x", "y", "z"], [["y", "z"]], domain="food")]
    (floor,) = pair_floor(gold)
    assert (floor.domain, floor.session_id, floor.method) == ("food", "9", "pair-floor")
    assert [b.items for b in floor.bundles] == [("x", "y")]


def test_missing_session_is_invalid_in_strict_and_dropped_in_aicl() -> None:
    predictions, gold = _two_domains()
    report = evaluate(predictions[:2], gold)  # food/1 has no prediction
    d = report.diagnostics
    assert (d.n_missing, d.missing_ids, d.n_matched) == (1, ["food/1"], 2)
    overall = report.group()
    assert overall.method["strict-2025"].precision == pytest.approx((1 + 0 + 0) / 3)
    assert overall.method["strict-2025"].valid_output_rate == pytest.approx(2 / 3)
    assert overall.method["aicl-2025"].precision == pytest.approx((1 + 0) / 2)
    missing = next(s for s in report.samples if s.domain == "food")
    assert (missing.missing, missing.parsed, missing.errors) == (True, False, ("no prediction",))


def test_only_predicted_restricts_the_gold_to_predicted_sessions() -> None:
    predictions, gold = _two_domains()
    report = evaluate(predictions[:2], gold, EvalConfig(only_predicted=True))
    assert report.group().n_sessions == 2
    assert report.diagnostics.n_missing == 0
    assert [g.domain for g in report.groups] == ["electronic", "overall"]


def test_unknown_predictions_are_reported_and_ignored() -> None:
    predictions, gold = _two_domains()
    extra = [make_prediction("77", [["q", "r"]]), make_prediction("1", [["z1", "z2"]], domain="x")]
    report = evaluate([*predictions, *extra], gold)
    d = report.diagnostics
    assert (d.n_predictions, d.n_matched, d.n_unknown) == (5, 3, 2)
    assert d.unknown_ids == ["electronic/77", "x/1"]
    assert report.group().headline.precision == pytest.approx(2 / 3)


def test_no_matching_prediction_is_a_data_error_naming_the_ids() -> None:
    _, gold = _two_domains()
    with pytest.raises(DataError, match=r"none of the 1 predictions matches.*clothing/5.*--gold"):
        evaluate([make_prediction("5", [["a", "b"]], domain="clothing")], gold)
    with pytest.raises(DataError, match="no predictions"):
        evaluate([], gold)


def test_domainless_predictions_match_by_unique_session_id() -> None:
    _, gold = _two_domains()
    report = evaluate([make_prediction("2", [["b2", "b3"]], domain="")], gold)
    assert report.diagnostics.n_matched == 1
    assert report.samples[1].scores.exact_pred == 1
    # "1" exists in electronic and food: ambiguous
    with pytest.raises(DataError, match=r"session '1' has no domain.*\['electronic', 'food'\]"):
        evaluate([make_prediction("1", [["a1", "a2"]], domain="")], gold)


def test_different_predictions_for_one_session_are_refused_not_last_wins() -> None:
    predictions, gold = _two_domains()
    fixed = make_prediction("2", [["b2", "b3"]], domain="electronic")
    with pytest.raises(DataError, match=r"1 session\(s\) have two or more different.*electronic/2"):
        evaluate([*predictions, fixed], gold)
    # An identical repeated line (e.g. appended twice) is counted once, and reported.
    report = evaluate([*predictions, predictions[-1]], gold)
    assert report.diagnostics.n_duplicates == 1


def test_no_gt_sessions_feed_the_false_positive_rate_not_the_averages() -> None:
    gold = [
        make_session("1", ids("a", 3), [["a1", "a2"]]),
        make_session("2", ids("n", 3), []),  # raw data: no bundle
        make_session("3", ids("m", 3), []),
        make_session("4", ids("k", 3), []),
    ]
    predictions = [
        make_prediction("1", [["a1", "a2"]]),
        make_prediction("2", [["n1", "n2"]]),  # false positive
        make_prediction("3", [["m1"]]),  # a 1-item bundle is not a bundle: no FP
        make_prediction("4", [["k1", "k2"]], parsed=False),  # unparsable: no FP
    ]
    head = evaluate(predictions, gold).group().headline
    assert (head.n_labelled, head.n_no_gold) == (1, 3)
    assert head.fp_rate == pytest.approx(1 / 3)
    assert (head.precision, head.recall, head.valid_output_rate) == (1.0, 1.0, 1.0)


def test_unlabelled_gold_is_skipped_and_all_unlabelled_is_an_error() -> None:
    predictions, gold = _two_domains()
    unlabelled = make_session("3", ids("u", 2), None)
    report = evaluate(predictions, [*gold, unlabelled])
    assert report.diagnostics.n_unlabelled_gold == 1
    with pytest.raises(DataError, match="ground-truth"):
        evaluate(predictions, [unlabelled])


def test_duplicate_gold_and_bad_tau_are_rejected() -> None:
    predictions, gold = _two_domains()
    with pytest.raises(DataError, match="electronic/1 appears twice"):
        evaluate(predictions, [*gold, gold[0]])
    with pytest.raises(ValidationError):
        EvalConfig(jaccard_tau=0.0)
