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
