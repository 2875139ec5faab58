"""The main job end to end with the real default model (SmolLM2-135M), the real MiniLM
embedder and a FAISS KB on disk: what `make demo` runs, minus the zero-shot arm for time."""

from __future__ import annotations

import json
from pathlib import Path

from bundlekd.app.demo import run_demo


def test_demo_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    stages: list[str] = []
    result = run_demo(tmp_path, modes=("few_shot", "icl"), on_stage=stages.append)

    methods = [row["method"] for row in result.rows]
    assert methods[0].startswith("pair floor")
    assert {"apriori", "student few_shot", "student icl"} <= set(methods)
    for row in result.rows:
        assert row["sessions"] == 12  # 3 domains x 4 sample test sessions
        assert row["precision"] >= 0.0
        assert 0.0 <= row["recall"] <= 1.0
        assert 0.0 <= row["valid_rate"] <= 1.0
    few_shot = next(r for r in result.rows if r["method"] == "student few_shot")
    assert few_shot["valid_rate"] > 0.5, "a worked example should make most answers usable"

    kb_manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert kb_manifest["index_backend"] == "faiss"
    kinds = {json.loads(line)["kind"] for line in (tmp_path / "kb" / "knowledge.jsonl").open()}
    assert "pattern" in kinds
    icl_lines = (tmp_path / "predictions" / "student_icl.jsonl").read_text().splitlines()
    assert len(icl_lines) == 12
    assert any(json.loads(line)["knowledge_ids"] for line in icl_lines)
    assert (tmp_path / "summary.json").exists()

    # A re-run reuses the KB, the teacher cache and the finished predictions.
    before = (tmp_path / "predictions" / "student_icl.jsonl").read_text()
    again = run_demo(tmp_path, modes=("few_shot", "icl"))
    assert (tmp_path / "predictions" / "student_icl.jsonl").read_text() == before
    assert [r["precision"] for r in again.rows] == [r["precision"] for r in result.rows]
    assert again.distill_summary["teacher"]["teacher_calls"] == 0
