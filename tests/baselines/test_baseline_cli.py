"""`bundlekd baseline pair|apriori` on the shipped sample data."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bundlekd.cli.baseline import app
from bundlekd.data.predictions_jsonl import read_predictions

runner = CliRunner()


def test_pair_writes_predictions(tmp_path: Path) -> None:
    out = tmp_path / "pair.jsonl"
    result = runner.invoke(
        app,
        ["pair", "--source", "sample", "--domain", "food", "--split", "test", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    predictions = read_predictions(out)
    assert len(predictions) == 4
    assert {p.method for p in predictions} == {"pair"}


def test_apriori_writes_predictions_and_patterns(tmp_path: Path) -> None:
    out = tmp_path / "apriori.jsonl"
    args = ["apriori", "--source", "sample", "--split", "val", "--embedder", "hashing"]
    args += ["--min-support", "0.05", "--show-patterns", "2", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "are often bundled" in result.output or "bundled together" in result.output
    predictions = read_predictions(out)
    assert len(predictions) == 12
    assert {p.method for p in predictions} == {"apriori"}
    assert all(p.parsed for p in predictions)


def test_bad_options_exit_1() -> None:
    bad_level = ["apriori", "--source", "sample", "--embedder", "hashing", "--level", "deep"]
    assert runner.invoke(app, bad_level).exit_code == 1
    bad_support = ["apriori", "--source", "sample", "--embedder", "hashing", "--min-support", "2"]
    assert runner.invoke(app, bad_support).exit_code == 1
    assert runner.invoke(app, ["pair", "--source", "sample", "--domain", "toys"]).exit_code == 1
