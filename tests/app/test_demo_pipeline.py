"""The main job end to end with the real default model (SmolLM2-135M), the real MiniLM embedder
and a FAISS KB on disk: what `make demo` runs, with fewer arms for time, then a resume."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bundlekd.app.demo import run_demo

ARMS = ("cluster", "tool", "agent", "icl")


def test_the_default_demo_has_no_teacher_stage(tmp_path: Path) -> None:
    stages: list[str] = []
    result = run_demo(tmp_path, arms=("cluster", "tool"), on_stage=stages.append)
    assert result.distill_summary["teacher"] == {}
    assert "teacher" not in result.seconds
    assert not any(stage.startswith("teacher") for stage in stages)
    assert {row["method"] for row in result.rows} >= {"cluster", "tool"}


def test_the_teacher_stage_is_bounded_by_sessions_and_time(tmp_path: Path) -> None:
    from bundlekd.app.demo import run_teacher_stage
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import get_embedder
    from bundlekd.llm.fake import ScriptedLLM

    train = load_sample().split("train")
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=get_embedder("hashing"), index="numpy")
    teacher = ScriptedLLM(lambda request: "no answer")  # unparsable: nothing kept, every stage runs
    two = run_teacher_stage(train, teacher, kb, tmp_path / "kb", sessions=2, seconds=600)
    assert two["sessions_done"] == 2
    assert two["teacher_requests"] > 0
    assert not two["stopped_for_time"]
    assert {s for s in two} >= {"rules", "thoughts_accepted", "thoughts_total", "seconds"}
    none = run_teacher_stage(train, teacher, kb, tmp_path / "kb", sessions=3, seconds=0.0)
    assert none["sessions_done"] == 0
    assert none["stopped_for_time"]


def test_demo_runs_end_to_end_and_resumes(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    stages: list[str] = []
    with caplog.at_level(logging.WARNING):
        result = run_demo(tmp_path, arms=ARMS, on_stage=stages.append)
    # Patterns are in the KB, so no arm's result changes for lack of rules or thoughts: no
    # warning about knowledge kinds (the tool and agent arms never read rules or thoughts).
    assert not [r.getMessage() for r in caplog.records if "knowledge" in r.getMessage()]
    assert not any(stage.startswith("teacher") for stage in stages)  # opt-in, off by default

    methods = [row["method"] for row in result.rows]
    assert methods[0].startswith("pair floor")
    assert set(ARMS) <= set(methods)
    for row in result.rows:
        assert row["sessions"] == 12  # 3 domains x 4 sample test sessions
        assert 0.0 <= row["recall"] <= 1.0
        assert 0.0 <= row["valid_rate"] <= 1.0
        for whole in ("exact_precision", "exact_recall", "gjs", "pair_f1"):  # the demo table's
            assert 0.0 <= row[whole] <= 1.0, (row["method"], whole)
    by_method = {row["method"]: row for row in result.rows}
    assert by_method["tool"]["valid_rate"] == 1.0  # the tool always proposes a bundle
    assert by_method["agent"]["valid_rate"] == 1.0
    assert by_method["agent"]["precision"] == by_method["tool"]["precision"]  # it only names
    assert by_method["agent"]["intent_cosine"] is not None
    assert by_method["agent"]["sessions_per_min"] > 0

    kb = tmp_path / "kb"
    assert json.loads((kb / "manifest.json").read_text())["index_backend"] == "faiss"
    kinds = {json.loads(line)["kind"] for line in (kb / "knowledge.jsonl").open()}
    assert {"pattern", "exemplar"} <= kinds
    assert (kb / "tool" / "tool.json").is_file()
    agent_lines = [json.loads(x) for x in (tmp_path / "predictions" / "agent.jsonl").open()]
    assert len(agent_lines) == 12
    assert all(line["proposals"] and line["knowledge_ids"] for line in agent_lines)
    assert (tmp_path / "summary.json").exists()

    # A re-run reuses the KB and the finished predictions.
    before = (tmp_path / "predictions" / "agent.jsonl").read_text()
    again = run_demo(tmp_path, arms=ARMS)
    assert (tmp_path / "predictions" / "agent.jsonl").read_text() == before
    assert [r["precision"] for r in again.rows] == [r["precision"] for r in result.rows]
    assert "teacher" not in again.seconds
