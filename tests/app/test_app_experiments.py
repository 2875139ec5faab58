"""The knowledge-format experiment marks an ICL arm whose knowledge kind the KB lacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.agent.runner import manifest_path
from bundlekd.app.experiments import run_icl_kinds_experiment
from bundlekd.data.sources import load_sample
from bundlekd.eval.compare import comparison_table
from bundlekd.knowledge_base.distill.runner import distill
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM

REPLY = '{"bundles": [{"items": [1, 2], "intent": "Go together"}]}'


def test_an_icl_arm_without_its_knowledge_kind_is_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "get_llm", lambda spec="smollm2", **options: ScriptedLLM(REPLY))
    dataset = load_sample()
    train = [s for s in dataset.split("train") if s.domain == "electronic"]
    test = [s for s in dataset.split("test") if s.domain == "electronic"][:2]
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    distill(train, kinds=["pattern"], kb_dir=kb.kb_dir, kb=kb)  # patterns only: no rules

    rows = run_icl_kinds_experiment(
        test,
        train,
        kb_dir=kb.kb_dir,
        out_dir=tmp_path / "exp",
        arms=["icl_pattern", "icl_rule"],
        embedder="hashing",
    )
    by_method = {row["method"]: row for row in rows}
    assert "icl_pattern" in by_method  # it had its knowledge: not marked
    marked = by_method["icl_rule (no rule)"]
    assert marked["note"] == "the KB holds none of its knowledge kinds: it ran as few-shot"
    caption = comparison_table(rows, "t").caption
    assert "icl_rule (no rule): the KB holds none of its knowledge kinds" in caption

    manifest = json.loads(manifest_path(tmp_path / "exp/predictions/icl_rule.jsonl").read_text())
    assert manifest["knowledge"]["kinds_missing"] == ["rule"]
    assert manifest["knowledge"]["no_knowledge"] is True
    assert any("holds no rule knowledge" in w for w in manifest["warnings"])
    summary = json.loads((tmp_path / "exp/summary.json").read_text())
    assert list(summary["arms_short_of_knowledge"]) == ["icl_rule (no rule)"]


def _reports() -> dict[str, object]:
    """Two methods on the sample's test sessions: first two items, first three items."""
    from bundlekd.data.schema import Bundle, Prediction
    from bundlekd.eval.evaluator import EvalConfig, evaluate

    test = load_sample().split("test")

    def first(k: int) -> list[Prediction]:
        return [
            Prediction(
                session_id=s.session_id,
                domain=s.domain,
                bundles=(Bundle(items=tuple(i.item_id for i in s.items[:k]), intent="x"),),
            )
            for s in test
        ]

    return {
        "cluster_nofallback": evaluate(first(2), test, EvalConfig(method_name="a")),
        "tool": evaluate(first(3), test, EvalConfig(method_name="b")),
    }


def _terminal(table: object) -> list[str]:
    from rich.console import Console

    from bundlekd.eval.tables import to_rich

    console = Console(width=80, record=True)
    console.print(to_rich(table))  # type: ignore[arg-type]
    return console.export_text().splitlines()


def test_arm_rows_carry_the_whole_bundle_metrics_of_their_method() -> None:
    from bundlekd.app.comparison import comparison_rows
    from bundlekd.eval.metrics import HEADLINE

    reports = _reports()
    rows = {row["method"]: row for row in comparison_rows(reports, "food")}  # type: ignore[arg-type]
    tool = reports["tool"].group("food").method[HEADLINE]  # type: ignore[attr-defined]
    assert rows["tool"]["gjs"] == tool.gjs
    assert rows["tool"]["exact_precision"] == tool.exact_precision
    assert rows["tool"]["bcubed_f1"] == tool.bcubed_f1
    floor = reports["cluster_nofallback"].group("food").floor[HEADLINE]  # type: ignore[attr-defined]
    assert rows["pair floor"]["pair_f1"] == floor.pair_f1
    # items 1+2 as one bundle is the pair floor itself
    assert rows["cluster_nofallback"]["gjs"] == rows["pair floor"]["gjs"]
    assert rows["tool"]["gjs"] != rows["pair floor"]["gjs"]


def test_the_arms_table_shows_whole_bundle_columns_within_80_columns() -> None:
    from bundlekd.app.comparison import comparison_rows, comparison_table

    rows = comparison_rows(_reports())  # type: ignore[arg-type]
    for row in rows:
        row["intent_cosine"] = 0.5
    table = comparison_table(rows, "aicl/test: overall (540 sessions)")
    headers = [c.header for c in table.columns]
    assert headers == [
        "method", "n", "P", "R", "Cov", "valid", "xP", "xR", "GJS", "pairF1", "intent",
    ]  # fmt: skip
    lines = _terminal(table)
    assert max(len(line) for line in lines) <= 80
    assert not any("…" in line for line in lines)
    assert any(line.split()[:1] == ["cluster_nofallback"] for line in lines)
    wide = [c.header for c in comparison_table(rows, "t", wide=True).columns]
    assert {"pairP", "pairR", "B3 F"} <= set(wide)


def _fake_rows() -> list[dict[str, object]]:
    from bundlekd.app.comparison import comparison_rows

    return comparison_rows(_reports())  # type: ignore[arg-type]


def test_experiment_arms_and_demo_print_the_whole_bundle_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bundlekd.app import demo, experiments
    from bundlekd.cli import app

    rows = _fake_rows()
    monkeypatch.setattr(experiments, "run_arms_experiment", lambda *a, **k: {"overall": rows})
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: demo.DemoResult(tmp_path, rows))
    for args in (
        ["experiment", "arms", "--kb", str(tmp_path), "--out", str(tmp_path)],
        ["demo", "--out", str(tmp_path)],
    ):
        result = CliRunner().invoke(app, args, terminal_width=80)
        assert result.exit_code == 0, result.output
        header = next(line for line in result.stdout.splitlines() if " GJS " in line)
        assert header.split()[:10] == [
            "method",
            "n",
            "P",
            "R",
            "Cov",
            "valid",
            "xP",
            "xR",
            "GJS",
            "pairF1",
        ]
        assert max(len(line) for line in result.stdout.splitlines()) <= 80
        assert "…" not in result.stdout  # no number cut short
