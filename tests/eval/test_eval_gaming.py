"""Eval cannot be gamed: repeated bundles are dropped before strict scoring (and reported);
bundles naming items outside the session make the prediction invalid (and are reported)."""

from __future__ import annotations

import pytest
from eval_builders import ids, make_prediction, make_session

from bundlekd.eval import EvalConfig, evaluate, results_dict, sample_row
from bundlekd.eval.report import report_table


def _case(repeats: int):
    items = ids("a", 6)
    gold = [make_session("1", items, [items[0:3]])]
    correct, wrong = items[0:2], items[3:5]
    predictions = [make_prediction("1", [correct] * repeats + [wrong])]
    return predictions, gold


def test_repeating_a_correct_bundle_does_not_raise_strict_precision() -> None:
    honest = evaluate(*_case(1), EvalConfig(with_floor=False)).group()
    gamed_report = evaluate(*_case(20), EvalConfig(with_floor=False))
    gamed = gamed_report.group()
    assert honest.method["strict-2025"].precision == pytest.approx(0.5)
    assert gamed.method["strict-2025"].precision == pytest.approx(0.5)  # was 20/21 = 0.952
    assert gamed.method["strict-2024"].precision == pytest.approx(0.5)
    # aicl keeps the reference code's behaviour exactly: every repeat counts
    assert gamed.method["aicl-2025"].precision == pytest.approx(20 / 21)
    assert gamed.method["aicl-2024"].precision == pytest.approx(20 / 21)

    diagnostics = results_dict(gamed_report)["diagnostics"]
    assert (diagnostics["n_repeated_bundles"], diagnostics["n_sessions_with_repeats"]) == (19, 1)
    assert sample_row(gamed_report.samples[0])["repeats_dropped"] == 19
    assert "19 repeated bundles in 1 predictions dropped" in report_table(gamed_report).caption


def test_items_outside_the_session_make_the_prediction_invalid_and_are_reported() -> None:
    items = ids("a", 4)
    gold = [make_session("1", items, [items[0:2]]), make_session("2", ids("b", 3), [["b1", "b2"]])]
    predictions = [
        make_prediction("1", [[items[0], items[1]], [items[2], "ZZZ-not-here"]]),
        make_prediction("2", [["b1", "b2"]]),
    ]
    report = evaluate(predictions, gold, EvalConfig(with_floor=False))
    overall = report.group()
    for variant in ("strict-2025", "aicl-2024"):
        assert overall.method[variant].valid_output_rate == pytest.approx(0.5), variant
    assert overall.method["strict-2025"].precision == pytest.approx(0.5)  # session 1 scores 0
    sample = report.samples[0]
    assert sample.unknown_items == ("ZZZ-not-here",)
    assert any("not in the session: ZZZ-not-here" in e for e in sample.errors)
    assert report.diagnostics.n_unknown_item_predictions == 1
    assert report.diagnostics.unknown_item_ids == ["electronic/1"]
    assert "1 predictions name items outside their session" in report_table(report).caption
