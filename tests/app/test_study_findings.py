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
