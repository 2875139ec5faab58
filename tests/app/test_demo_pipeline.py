"""The main job end to end with the real default model (SmolLM2-135M), the real MiniLM embedder
and a FAISS KB on disk: what `make demo` runs, with fewer arms for time, then a resume."""

from __future__ import annotations

import json
from pathlib import Path

from bundlekd.app.demo import run_demo

ARMS = ("cluster", "tool", "agent", "icl")


def test_demo_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    stages: list[str] = []
    result = run_demo(tmp_path, arms=ARMS, on_stage=stages.append)

    methods = [row["method"] for row in result.rows]
    assert methods[0].startswith("pair floor")
    assert set(ARMS) <= set(methods)
    for row in result.rows:
        assert row["sessions"] == 12  # 3 domains x 4 sample test sessions
        assert 0.0 <= row["recall"] <= 1.0
        assert 0.0 <= row["valid_rate"] <= 1.0
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
    assert result.distill_summary["teacher"]["teacher_requests"] > 0
    assert (tmp_path / "summary.json").exists()

    # A re-run reuses the KB, the teacher cache and the finished predictions.
    before = (tmp_path / "predictions" / "agent.jsonl").read_text()
    again = run_demo(tmp_path, arms=ARMS)
    assert (tmp_path / "predictions" / "agent.jsonl").read_text() == before
    assert [r["precision"] for r in again.rows] == [r["precision"] for r in result.rows]
    assert again.distill_summary["teacher"]["teacher_calls"] == 0
