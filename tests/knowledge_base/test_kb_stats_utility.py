"""`kb stats KB --utility PREDICTIONS`: the most helpful and harmful items of a run (issue 15.5)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bundlekd.cli import app


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_kb_stats_lists_helpful_and_harmful_items_of_a_run(tmp_path: Path) -> None:
    kb, preds = tmp_path / "kb", tmp_path / "tool.jsonl"
    _run(["distill", "--source", "sample", "--kinds", "exemplar", "--embedder", "hashing",
          "--tool-scorer", "cosine", "--kb", str(kb)])  # fmt: skip
    _run(["generate", "--source", "sample", "--split", "test", "--kb", str(kb),
          "--out", str(preds)])  # fmt: skip
    _run(["eval", str(preds), "--gold", "sample", "--no-intents"])
    assert (tmp_path / "tool.eval" / "samples.jsonl").is_file()

    output = _run(["kb", "stats", str(kb), "--utility", str(preds), "--top", "3"])
    helpful = output.index("most helpful")
    harmful = output.index("most harmful")
    assert helpful < harmful
    credited = [line for line in output.splitlines() if "exemplar:" in line]
    assert credited  # items with their kind and text
    assert all(line.strip()[0] in "+-" for line in credited)  # a signed utility first


def test_kb_stats_utility_without_scores_is_one_line(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    _run(["distill", "--source", "sample", "--kinds", "exemplar", "--embedder", "hashing",
          "--tool-scorer", "cosine", "--kb", str(kb)])  # fmt: skip
    missing = tmp_path / "none.jsonl"
    missing.write_text("")
    result = CliRunner().invoke(app, ["kb", "stats", str(kb), "--utility", str(missing)])
    assert result.exit_code == 1
    assert "samples.jsonl: not found" in result.output
