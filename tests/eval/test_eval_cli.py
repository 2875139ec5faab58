"""`bundlekd eval`: options reach the library, files land next to the predictions, errors exit 1."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.data.predictions_jsonl import write_predictions

# bundlekd.cli's __init__ registers every command module; until all exist, this cannot import.
eval_command = pytest.importorskip(
    "bundlekd.cli.eval",
    reason="bundlekd.cli does not import yet (other command modules missing)",
    exc_type=ImportError,
).eval_command


@pytest.fixture
def fake_sources(monkeypatch: pytest.MonkeyPatch, parity_case) -> list[dict]:
    """Stand in for bundlekd.data.sources.load_sessions and record how it was called."""
    _, gold = parity_case
    calls: list[dict] = []
    monkeypatch.delenv("BUNDLEKD_DATA_DIR", raising=False)  # the tests check what flags pass

    def load_sessions(source, *, domains=None, split=None, data_dir=None):
        calls.append({"source": source, "domains": domains, "split": split, "data_dir": data_dir})
        return gold

    module = types.ModuleType("bundlekd.data.sources")
    module.load_sessions = load_sessions  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bundlekd.data.sources", module)
    return calls


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(eval_command)
    return app


def test_eval_prints_the_table_and_writes_next_to_the_predictions(
    tmp_path: Path, parity_case, fake_sources
) -> None:
    predictions, _ = parity_case
    path = tmp_path / "student.jsonl"
    write_predictions(path, predictions)
    args = [str(path), "--gold", "aicl", "--domain", "electronic", "--split", "test"]
    result = CliRunner().invoke(_app(), [*args, "--tau", "0.6"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert fake_sources == [
        {"source": "aicl", "domains": ["electronic"], "split": "test", "data_dir": None}
    ]
    assert "pair-floor" in result.output
    out_dir = tmp_path / "student.eval"
    results = json.loads((out_dir / "results.json").read_text())
    assert results["config"]["jaccard_tau"] == 0.6
    assert results["sources"]["gold"] == "aicl"
    assert len(results["sources"]["predictions_sha256"]) == 64
    assert results["headline"]["precision"] == pytest.approx(2.5 / 6)
    assert len((out_dir / "samples.jsonl").read_text().splitlines()) == 6


def test_eval_errors_exit_one_with_a_message(tmp_path: Path, fake_sources) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"session_id": "999", "domain": "food", "bundles": []}) + "\n")
    result = CliRunner().invoke(_app(), [str(path), "--gold", "x.jsonl", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "none of the 1 predictions matches" in result.output
    bad_tau = CliRunner().invoke(_app(), [str(path), "--gold", "aicl", "--tau", "0"])
    assert bad_tau.exit_code == 1
    assert "jaccard_tau" in bad_tau.output
