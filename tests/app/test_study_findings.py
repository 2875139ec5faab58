"""The report's words and cost columns follow the cells' records."""

from __future__ import annotations

from typing import Any

import pytest

from bundlekd.app.study.findings import paragraph
from bundlekd.app.study.report import cost_table


def _llm_cell(formats: list[str], knowledge: dict[str, int]) -> dict[str, Any]:
    row = {"method": "icl", "precision": 0.2, "recall": 0.1, "sessions": 10}
    floor = {"method": "pair floor", "precision": 0.3, "recall": 0.2, "sessions": 10}
    return {
        "cell": {"student": "llm", "formats": formats, "domains": ["food"], "ratio": 0.02},
        "label": f"llm:{'+'.join(formats)}",
        "arm": "icl",
        "sessions": 10,
        "tables": {"food": [floor, row]},
        "knowledge": knowledge,
        "cost": {"teacher_requests": 156, "teacher_tokens": 92963, "cpu_s": 60.0},
    }


def test_a_thin_teacher_kind_is_named_with_its_count() -> None:
    cells = [
        _llm_cell(["rule"], {"pattern": 0, "rule": 50, "thought": 0}),
        _llm_cell(["thought"], {"pattern": 0, "rule": 0, "thought": 6}),
        _llm_cell(["pattern"], {"pattern": 172, "rule": 0, "thought": 0}),
    ]
    text = paragraph("format", cells, ["food"])
    assert "172 patterns" not in text  # mined, not written by the teacher
    assert "6 thoughts" in text
    assert "50 rules" in text
    assert "prompt scaffold" in text


def test_enough_teacher_knowledge_gets_no_warning() -> None:
    cells = [_llm_cell(["rule"], {"rule": 400})]
    assert "prompt scaffold" not in paragraph("format", cells, ["food"])


def test_the_cost_table_shows_teacher_tokens() -> None:
    lines = cost_table([_llm_cell(["rule"], {"rule": 50})])
    assert "teacher requests / tokens" in lines[0]
    assert "| 156 / 92963 |" in lines[2]


def test_the_llm_quantity_paragraph_states_its_noise_and_the_mean_per_ratio() -> None:
    cells = []
    for ratio, precision in ((0.05, 0.2), (0.5, 0.4), (1.0, 0.3)):
        cell = _llm_cell(["pattern"], {"pattern": 10})
        cell["cell"].update(ratio=ratio, strategy="random", scope="pooled")
        cell["tables"]["food"][1] = {**cell["tables"]["food"][1], "precision": precision}
        cells.append(cell)
    text = paragraph("quantity", cells, ["food"])
    assert "random/pooled peaks at 0.5" in text
    assert "0.05: 0.150, 0.5: 0.250, 1: 0.200" in text
    assert "one session of 10 moves a domain's (P+R)/2 by up to 0.10" in text
    assert "  " not in text


def _tool_cell(cell_id: str, formats: list[str], val: dict[str, tuple[float, float]]) -> dict:
    from bundlekd.app.study.grid import ALL_TOOL_FEATURES

    return {
        "cell_id": cell_id,
        "label": cell_id,
        "cell": {
            "student": "tool",
            "formats": list(ALL_TOOL_FEATURES) if formats == ["all"] else formats,
            "domains": sorted(val),
            "ratio": 1.0,
            "scope": "pooled",
            "utilization": "memory",
            "strategy": "random",
        },
        "chosen": {
            "tool_val_scores": {
                "value": {d: {"precision": p, "recall": r} for d, (p, r) in val.items()}
            },
            "val_clustering_bar": {
                "value": {d: {"precision": 0.5, "recall": 0.5} for d in val},
            },
        },
    }


def test_cells_are_judged_against_the_default_cell_on_val_not_the_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bundlekd.app.study import verdicts
    from bundlekd.app.study.verdicts import is_default_cell, val_default_lines

    monkeypatch.setattr(verdicts, "DEFAULT_CRITERIA", ("precision", "recall"))

    default = _tool_cell("default", ["all"], {"food": (0.8, 0.7), "clothing": (0.8, 0.7)})
    better = _tool_cell("better", ["cosine"], {"food": (0.81, 0.7), "clothing": (0.8, 0.72)})
    worse = _tool_cell("worse", ["cosine"], {"food": (0.9, 0.6), "clothing": (0.9, 0.9)})
    assert is_default_cell(default)
    assert not is_default_cell(better)
    lines = val_default_lines([default, better, worse], default)
    assert len(lines) == 4  # the default itself is not a row
    assert lines[2] == "| better | +0.000 | +0.000 | yes |"
    assert lines[3] == "| worse | +0.100 | -0.100 | no |"
    # without the default cell in the report: against each cell's own clustering bar
    assert "| worse | +0.400 | +0.100 | yes |" in val_default_lines([worse])


def _whole(method: str, p: float, r: float, gjs: float, **extra: float) -> dict[str, Any]:
    """A table row with the whole-bundle metrics (exact P/R and pair F1 default to GJS)."""
    metrics = {"exact_precision": gjs, "exact_recall": gjs, "pair_f1": gjs, **extra}
    return {"method": method, "precision": p, "recall": r, "gjs": gjs, "sessions": 180, **metrics}


def _tool(formats: list[str], arm: dict[str, Any], **cell: Any) -> dict[str, Any]:
    from bundlekd.app.study.grid import ALL_TOOL_FEATURES

    features = list(ALL_TOOL_FEATURES) if formats == ["all"] else formats
    label = f"tool:{'+'.join(formats) or 'none'}"
    return {
        "cell_id": label,
        "label": label,
        "arm": "tool",
        "sessions": 180,
        "cell": {
            "student": "tool",
            "formats": features,
            "domains": ["food"],
            "ratio": 1.0,
            "strategy": "random",
            "scope": "pooled",
            "utilization": "memory",
            **cell,
        },
        "tables": {
            "food": [
                _whole("pair floor", 0.45, 0.40, 0.37),
                _whole("cluster", 0.83, 0.74, 0.60),
                {**arm, "method": "tool"},
            ]
        },
    }


def test_the_format_paragraph_ranks_by_gjs_and_names_what_the_winner_loses() -> None:
    # by (P+R)/2 'no memory' would win (0.82 vs 0.78); by GJS 'all' does
    cells = [
        _tool([], _whole("tool", 0.83, 0.74, 0.60)),
        _tool(["cosine", "position", "tokens"], _whole("tool", 0.86, 0.78, 0.62)),
        _tool(["all"], _whole("tool", 0.81, 0.75, 0.65, exact_precision=0.50)),
    ]
    text = paragraph("format", cells, ["food"])
    assert "(P+R)/2" not in text
    assert "tool / **food**: best by GJS tool:all (GJS 0.650, exact P/R 0.500/0.650" in text
    # the winner breaks the guard rail (strict P under the bar's): said, with the numbers
    assert "below the bar on the guard rails: strict P 0.810 < 0.830" in text
    # where another cell leads a metric beside GJS, the finding names it
    assert (
        "tool:cosine+position+tokens leads exact P (0.620 vs 0.500) and strict P (0.860 vs "
        "0.810) and strict uniq R (0.780 vs 0.750) at GJS 0.620." in text
    )
    assert "Tool ablation, test GJS (strict P): food none 0.600 (0.830)" in text
    assert "food weights +0.020/+0.030, knowledge +0.030/-0.050" in text


def test_a_winner_that_holds_the_guard_rails_says_so_and_ties_are_not_leads() -> None:
    cells = [
        _tool(["all"], _whole("tool", 0.85, 0.75, 0.65)),
        _tool(["cosine"], _whole("tool", 0.853, 0.74, 0.60)),  # +0.003 strict P: a tie
    ]
    text = paragraph("format", cells, ["food"])
    assert "strict P/uR at or above the bar's (0.830/0.740)" in text
    assert "leads" not in text


def test_the_quantity_paragraph_follows_gjs_and_val_gjs_and_shows_strict_p_beside_it() -> None:
    cells = []
    # test GJS peaks at 0.5, strict P at 1.0; val GJS peaks at 0.25
    for ratio, gjs, strict, val_gjs in ((0.25, 0.60, 0.80, 0.59), (0.5, 0.64, 0.78, 0.55),
                                        (1.0, 0.62, 0.84, 0.57)):  # fmt: skip
        cell = _tool(["all"], _whole("tool", strict, 0.7, gjs), ratio=ratio)
        cell["chosen"] = {"tool_val_scores": {"value": {"food": {
            "precision": 0.9, "recall": 0.9, "gjs": val_gjs}}}}  # fmt: skip
        cells.append(cell)
    text = paragraph("quantity", cells, ["food"])
    assert "**food** (GJS): random/pooled peaks at 0.5 (within 0.01 from 0.5)" in text
    assert "strict P best at 1 (0.840 vs 0.780)" in text
    assert (
        "Chosen on val (mean val GJS over the domains), the ratio is: random/pooled 0.25." in text
    )
    assert "per ratio: 0.25: 0.600, 0.5: 0.640, 1: 0.620; strict P: 0.25: 0.800" in text
    assert "(P+R)/2" not in text


def test_cells_without_gjs_are_ranked_by_p_and_r_and_the_paragraph_says_why() -> None:
    old = _tool(["all"], {"method": "tool", "precision": 0.9, "recall": 0.8, "sessions": 180})
    new = _tool([], _whole("tool", 0.8, 0.7, 0.65))
    text = paragraph("format", [old, new], ["food"])
    assert "best by (P+R)/2 tool:all ((P+R)/2 0.850, strict P/uR 0.900/0.800" in text
    assert "record no GJS" in text


def test_the_llm_utilization_verdict_is_on_gjs() -> None:
    cells = []
    for use, formats, gjs, p in (
        ("sft_icl", ["pattern"], 0.5, 0.1),
        ("icl", ["pattern"], 0.4, 0.9),
    ):
        cell = _llm_cell(formats, {"pattern": 100})
        cell["cell"]["utilization"] = use
        cell["tables"]["food"] = [
            _whole("pair floor", 0.3, 0.2, 0.3),
            _whole("icl", p, p, gjs),
        ]
        cells.append(cell)
    text = paragraph("utilization", cells, ["food"])
    assert "LLM / **food** (GJS): SFT+ICL (mixed adapter) 0.500, ICL 0.400." in text
    assert "that holds here on GJS (SFT+ICL 0.500 against the best other arm, ICL 0.400)" in text


def test_the_cost_table_prices_gjs_and_falls_back_for_old_results() -> None:
    cell = _tool(["all"], _whole("tool", 0.8, 0.7, 0.6))
    cell["cost"] = {"cpu_s": 30.0, "training_s": 30.0}
    lines = cost_table([cell])
    assert "| mean GJS | GJS per CPU-min |" in lines[0]
    assert lines[2].endswith("| 0.600 | 0.600 |")
    old = _tool(["all"], {"method": "tool", "precision": 0.8, "recall": 0.6, "sessions": 180})
    old["cost"] = {"cpu_s": 60.0}
    assert cost_table([old])[2].endswith("| 0.700 | 0.700 |")


def test_a_cell_whose_val_choice_fell_back_to_pairs_is_named() -> None:
    pairs = _tool(["all"], _whole("tool", 0.84, 0.82, 0.55), utilization="both")
    pairs["chosen"] = {"tool_settings": {"value": {"food": {"policy": "pairs"}}}}
    whole = _tool(["all"], _whole("tool", 0.81, 0.73, 0.64))
    whole["chosen"] = {"tool_settings": {"value": {"food": {"policy": "partition"}}}}
    text = paragraph("utilization", [pairs, whole], ["food"])
    assert "Val chose the pairs policy for tool:all: no whole-bundle setting" in text
    assert "tuned embedder" in text
    assert text.count("Val chose the pairs policy") == 1
