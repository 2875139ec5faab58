"""`--format json|csv|markdown` puts exactly one document of that format on stdout (issue 16.7).

Every command with a --format table option is run with each text format and its stdout is
handed to a parser; stage lines, timings and "wrote ..." go to stderr.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.predictions_jsonl import write_predictions
from bundlekd.data.schema import Prediction
from bundlekd.data.sources import load_sample

FORMATS = ("json", "csv", "markdown")


def parse(text: str, fmt: str) -> Any:
    """The one document on stdout, parsed; fails on anything else mixed in."""
    if fmt == "json":
        return json.loads(text)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows, text
        assert all(len(r) == len(rows[0]) for r in rows), text
        return rows
    tables = [line for line in text.splitlines() if line.startswith("|")]
    assert tables, text
    for line in text.splitlines():  # a markdown table document: titles, tables, captions
        assert not line.startswith(("▶", "wrote ", "time:", "outputs in")), line
    assert all(line.endswith("|") for line in tables), text
    return tables


def _run(args: list[str]) -> Any:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("fmt", FORMATS)
def test_eval_stdout_is_one_document(tmp_path: Path, fmt: str) -> None:
    test = load_sample().split("test")
    path = tmp_path / "gold.jsonl"
    write_predictions(
        path,
        [Prediction(session_id=s.session_id, domain=s.domain, bundles=s.bundles) for s in test],
    )
    result = _run(["eval", str(path), "--gold", "sample", "--no-intents", "--format", fmt])
    parsed = parse(result.stdout, fmt)
    if fmt == "json":
        assert parsed["rows"]
    assert "wrote" in result.stderr
    assert "wrote" not in result.stdout


@pytest.fixture(scope="module")
def sample_tool_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb_dir = tmp_path_factory.mktemp("kb")
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder)
    return kb_dir


def test_experiment_arms_stdout_is_one_document_per_format(
    sample_tool_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bundlekd.llm import registry
    from bundlekd.llm.fake import ScriptedLLM

    monkeypatch.setattr(
        registry, "get_llm", lambda spec="x", **_: ScriptedLLM(lambda _: '{"bundles": []}')
    )
    monkeypatch.setenv("BUNDLEKD_EMBEDDER__NAME", "hashing")
    base = ["experiment", "arms", "--kb", str(sample_tool_kb), "--out", str(tmp_path / "arms")]
    base += ["--source", "sample", "--arms", "cluster,tool", "--sample", "2"]
    for fmt in FORMATS:
        result = _run([*base, "--format", fmt])
        parsed = parse(result.stdout, fmt)
        assert "▶" in result.stderr
        if fmt == "json":  # per-domain tables and the overall one, nested in one document
            titles = [t["title"] for t in parsed["tables"]]
            assert len(titles) == 4, titles
            assert any("overall" in t for t in titles), titles
        if fmt == "csv":
            assert parsed[0][0] == "table"
            assert len({r[0] for r in parsed[1:]}) == 4


def test_demo_stdout_is_one_document(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The demo's stage lines, teacher summary and timings go to stderr (its pipeline stubbed:
    the real one is tests/app/test_demo_pipeline.py)."""
    import bundlekd.app.demo as demo_module

    rows = [{"method": "tool", "precision": 0.5, "recall": 0.25, "sessions": 12}]

    def fake_run_demo(out: Path, config: Any, **kwargs: Any) -> Any:
        kwargs["on_stage"]("building the KB")
        kwargs["on_progress"](1, 2)
        return demo_module.DemoResult(
            out,
            rows,
            {"tool": 1.0},
            {"teacher": {"teacher": "t", "per_kind": {"rule": 1}, "thoughts_total": 2}},
        )

    monkeypatch.setattr(demo_module, "run_demo", fake_run_demo)
    for fmt in FORMATS:
        result = _run(["demo", "--out", str(tmp_path), "--format", fmt])
        parse(result.stdout, fmt)
        assert "time:" in result.stderr
        assert "outputs in" in result.stderr


def test_an_unknown_format_fails_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--format", "xml"])
    assert result.exit_code == 1
    assert "--format must be one of" in result.stderr
    assert not any(tmp_path.iterdir())
