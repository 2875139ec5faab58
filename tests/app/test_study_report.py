"""The study report reads well to a newcomer (issue 21.5) and shows whole bundles (21.1):
labelled reference rows, what ran, no verdict on a handful of sessions, plots with a title,
axis labels, per-metric reference lines and a legend over no data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bundlekd.app.study import verdicts
from bundlekd.app.study.report import domain_table, write_study_report


def _row(method: str, n: int, p: float, r: float, **extra: float) -> dict[str, Any]:
    return {
        "method": method,
        "sessions": n,
        "precision": p,
        "recall": r,
        "coverage": 0.7,
        "valid_rate": 1.0,
        **extra,
    }


def _result(student: str, formats: list[str], n: int, *, sampled: bool, **arm: float) -> dict:
    use = "memory" if student == "tool" else "icl"
    method = "tool" if student == "tool" else "zero_shot"
    cell = {
        "domains": ["food"],
        "student": student,
        "formats": formats,
        "ratio": 1.0,
        "strategy": "random",
        "scope": "pooled",
        "utilization": use,
        "model": "-" if student == "tool" else "smollm2",
        "seed": 0,
    }
    return {
        "cell": cell,
        "cell_id": f"{student}-{n}",
        "label": f"{student}:{'+'.join(formats) or 'none'} r=1 random pooled {use}",
        "arm": method,
        "sessions": n,
        "sampled": sampled,
        "tables": {
            "food": [
                _row("pair floor", n, 0.4, 0.3),
                _row(method, n, 0.9, 0.85, **arm),
                _row("cluster", n, 0.7, 0.6),
            ]
        },
        "cost": {"wall_s": 1.0, "cpu_s": 1.0},
    }


def test_reference_rows_of_two_session_sets_are_labelled_by_their_set() -> None:
    tool = _result("tool", ["cosine"], 4, sampled=False, gjs=0.61, exact_precision=0.5)
    llm = _result("llm", [], 1, sampled=True)
    lines = domain_table([tool, llm], "food", sample=1)
    refs = [line.split(" | ")[0] for line in lines if line.startswith("| *")]
    assert refs == [
        "| *clustering bar* (all sessions)",
        "| *pair floor* (all sessions)",
        "| *clustering bar* (sample of 1 per domain, seed 0)",
        "| *pair floor* (sample of 1 per domain, seed 0)",
    ]
    assert "| exact P | exact R | GJS | pair F1 |" in lines[0]
    tool_line = next(line for line in lines if line.startswith("| tool:"))
    assert "| 0.500 | – | 0.610 | – |" in tool_line  # recorded ones shown, the rest a dash
    # one session set: no suffix needed
    assert "| *pair floor* |" in "\n".join(domain_table([tool], "food"))


def test_the_quality_target_gives_no_verdict_on_a_handful_of_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(verdicts, "TARGET", {"precision": 0.85, "recall": 0.80})
    few = _result("tool", ["cosine"], 4, sampled=False)
    many = _result("tool", ["cosine"], 180, sampled=False)
    for result in (few, many):
        result["tables"]["food"][2]["coverage"] = 0.6  # the bar's
    assert verdicts.target_lines([few], ["food"])[2].endswith("| too few sessions (4 < 50) |")
    assert verdicts.target_lines([many], ["food"])[2].endswith("| yes |")


def test_the_quality_target_can_be_per_domain_on_whole_bundle_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = _result("tool", ["cosine"], 180, sampled=False, gjs=0.6)
    result["tables"]["food"][2]["coverage"] = 0.6
    monkeypatch.setattr(verdicts, "TARGET", {"gjs": {"food": 0.648, "clothing": 0.721}})
    lines = verdicts.target_lines([result], ["food"])
    assert "| GJS (≥ target) |" in lines[0]
    assert lines[2].endswith("| 180 | 0.600 (≥ 0.648) | 0.700 (bar 0.600) | no |")


def _tool_cell(cell_id: str, val: dict[str, float]) -> dict[str, Any]:
    result = _result("tool", ["cosine"], 180, sampled=False)
    result["cell_id"] = result["label"] = cell_id
    result["chosen"] = {"tool_val_scores": {"value": {"food": val}}}
    return result


def test_the_default_comparison_judges_on_the_metrics_listed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = _tool_cell("default", {"precision": 0.8, "recall": 0.7, "gjs": 0.5})
    whole = _tool_cell("whole", {"precision": 0.8, "recall": 0.7, "gjs": 0.6})
    old = _tool_cell("old", {"precision": 0.9, "recall": 0.8})  # no val GJS recorded
    monkeypatch.setattr(verdicts, "DEFAULT_CRITERIA", ("precision", "recall"))
    lines = verdicts.val_default_lines([whole], default)
    assert lines[2] == "| whole | +0.000 | +0.000 | no |"  # P and R only: no better
    monkeypatch.setattr(verdicts, "DEFAULT_CRITERIA", ("gjs", "precision", "recall"))
    lines = verdicts.val_default_lines([whole, old], default)
    assert lines[0].startswith("| cell | min val ΔGJS | min val ΔP | min val ΔR |")
    assert lines[2] == "| whole | +0.100 | +0.000 | +0.000 | yes |"
    assert lines[3] == "| old | – | +0.100 | +0.100 | – (not recorded) |"


def _run(tmp_path: Path, results: list[dict[str, Any]], **spec: Any) -> Path:
    run = tmp_path / "run"
    for result in results:
        folder = run / "cells" / result["cell_id"]
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(result), encoding="utf-8")
    study = {
        "study": {"name": "smoke", "question": "smoke", "source": "sample", "split": "test",
                  "domains": ["food"], **spec},
        "machine": {"cpu": "test cpu", "platform": "test", "cpus": 2, "threads": "1"},
        "cells": [{"cell_id": r["cell_id"]} for r in results],
    }  # fmt: skip
    (run / "study.json").write_text(json.dumps(study), encoding="utf-8")
    return run


def test_the_report_says_what_ran_and_reproduces_outside_the_repository(tmp_path: Path) -> None:
    results = [
        _result("tool", ["cosine"], 4, sampled=False),
        _result("llm", [], 1, sampled=True),  # utilization icl, no knowledge: zero-shot
    ]
    text = write_study_report([_run(tmp_path, results, sample=1)], tmp_path / "rep").read_text()
    assert "DESIGN.md" not in text  # not in this repository: the metrics are defined here
    assert "GJS (greedy Jaccard similarity)" in text
    assert "--out docs/results" not in text
    assert "`bundlekd experiment report RUN... --out REPORT`" in text
    assert "llm:none r=1 random pooled zero_shot" in text
    assert "pooled icl" not in text
    assert "| yes |" not in text  # the quality target on 4 sessions: no verdict
    assert "too few sessions (4 < 50)" in text
    assert (tmp_path / "rep" / "smoke.png").read_bytes()[:4] == b"\x89PNG"


def _texts(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _no_overlap(fig: Any) -> None:
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        box = ax.get_window_extent()
        assert legend.x0 >= box.x1 or legend.x1 <= box.x0 or legend.y0 >= box.y1, ax


def test_the_bar_plot_has_a_title_labels_and_per_metric_reference_lines() -> None:
    from bundlekd.app.study.plots import ALL_ZERO, NO_DATA, bar_figure

    bars = {
        "food": [("a", 0.8, 0.6), ("b", 0.7, 0.5)],
        "clothing": [("a", 0.0, 0.0)],
    }
    refs = {"food": {"clustering bar": (0.75, 0.55), "pair floor": (0.4, 0.3)}}
    fig = bar_figure(["food", "clothing", "electronic"], bars, refs, title="smoke (smoke)")
    assert fig._suptitle.get_text() == "smoke (smoke)"
    food, clothing, electronic = fig.axes
    assert all(ax.get_ylabel() for ax in fig.axes)
    # P references span only the P bars (left half of each slot), R only the R bars
    for collection in food.collections:
        label = collection.get_label()
        if not label.endswith((" P", " R")):
            continue
        for segment in collection.get_segments():
            (x0, _), (x1, _) = segment
            slot = round(x0 + 0.2)
            if label.endswith(" P"):
                assert (x0, x1) == pytest.approx((slot - 0.4, slot))
            else:
                assert (x0, x1) == pytest.approx((slot, slot + 0.4))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"clustering bar P", "clustering bar R", "pair floor P", "strict P"} <= set(labels)
    assert _texts(electronic) == [NO_DATA]
    assert _texts(clothing) == [ALL_ZERO]
    assert _texts(food) == []
    _no_overlap(fig)


def test_the_quantity_plot_has_a_title_and_its_legend_outside() -> None:
    from bundlekd.app.study.plots import NO_DATA, quantity_figure

    lines = {"food": {"random pooled": [(0.5, 0.7, 0.6), (1.0, 0.8, 0.7)]}}
    refs = {"food": {"clustering bar": (0.75, 0.55)}}
    fig = quantity_figure(["food", "clothing"], lines, refs, title="rq2 (quantity)")
    assert fig._suptitle.get_text() == "rq2 (quantity)"
    assert all(ax.get_ylabel() for ax in fig.axes)
    assert _texts(fig.axes[1]) == [NO_DATA]  # clothing, precision row
    _no_overlap(fig)


def test_plots_show_gjs_beside_strict_p_when_the_cells_record_it() -> None:
    from bundlekd.app.study.plots import bar_figure
    from bundlekd.app.study.report import _plot_refs

    tool = _result("tool", ["cosine"], 4, sampled=False, gjs=0.61)
    tool["tables"]["food"][2]["gjs"] = 0.55  # the bar's
    refs = _plot_refs([tool], ("gjs", "precision"))
    assert refs["food"]["clustering bar"] == (0.55, 0.7)
    fig = bar_figure(["food"], {"food": [("a", 0.61, 0.9)]}, refs, names=("GJS", "strict P"))
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {"GJS", "strict P", "clustering bar GJS", "clustering bar P"} <= labels
    assert fig.axes[0].get_ylabel()


def test_tables_over_every_domain_name_a_single_domain_cell_by_its_domain() -> None:
    from bundlekd.app.study.report import cost_table
    from bundlekd.app.study.verdicts import table_label

    single = _result("tool", ["cosine"], 4, sampled=False)
    single["cell"]["scope"] = "single"
    assert table_label(single) == f"{single['label']} (food)"
    assert cost_table([single])[2].startswith(f"| {single['label']} (food) |")
    pooled = _result("tool", ["cosine"], 4, sampled=False)
    assert table_label(pooled) == pooled["label"]


def test_a_clustering_cell_takes_its_val_gjs_from_its_own_bar() -> None:
    from bundlekd.app.study.verdicts import val_scores

    cell = _result("tool", [], 4, sampled=False)
    bar = {"food": {"precision": 0.8, "recall": 0.7, "gjs": 0.55}}
    cell["chosen"] = {
        "tool_val_scores": {"value": {"food": {"precision": 0.8, "recall": 0.7}}},
        "val_clustering_bar": {"value": bar},
    }
    assert val_scores(cell)["food"]["gjs"] == 0.55
    # a different decoding than the bar's (P/R differ): nothing is borrowed
    cell["chosen"]["tool_val_scores"]["value"]["food"]["precision"] = 0.81
    assert "gjs" not in val_scores(cell)["food"]
    learned = _result("tool", ["cosine"], 4, sampled=False)
    learned["chosen"] = {**cell["chosen"]}
    assert "gjs" not in val_scores(learned)["food"]
