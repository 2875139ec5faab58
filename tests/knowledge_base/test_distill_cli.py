"""`bundlekd distill` through typer, on the shipped sample (patterns: no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from bundlekd.app.distillation import check_kinds
from bundlekd.cli.distill import distill_command
from bundlekd.knowledge_base.distill.runner import CANDIDATES_FILE

app = typer.Typer()
app.command()(distill_command)


def test_distil_patterns_from_the_sample_into_a_kb(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    args = ["--source", "sample", "--kinds", "pattern", "--ratio", "1", "--kb", str(kb)]
    result = CliRunner().invoke(app, [*args, "--embedder", "hashing", "--index", "numpy"])
    assert result.exit_code == 0, result.output
    assert "pattern candidates" in result.output
    rows = [json.loads(line) for line in (kb / CANDIDATES_FILE).read_text().splitlines()]
    assert rows
    assert {row["kind"] for row in rows} == {"pattern"}
    assert (kb / "knowledge.jsonl").is_file()


def test_test_split_is_refused_with_exit_code_1(tmp_path: Path) -> None:
    args = ["--source", "sample", "--split", "test", "--kinds", "pattern", "--kb", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--embedder", "hashing", "--index", "numpy"])
    assert result.exit_code == 1
    assert "pattern mining" in result.output


def test_unknown_kind_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--kb", str(tmp_path), "--kinds", "rules"])
    assert result.exit_code == 1
    assert "rules" in result.output
    assert check_kinds(["pattern", " thought"]) == ["pattern", "thought"]
