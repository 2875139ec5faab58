"""`bundlekd llm list | ping | convert` through typer's test runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli.llm import app

runner = CliRunner()


def test_list_shows_builtins() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for name in ("smollm2", "hf", "openai", "langchain"):
        assert name in result.output


def test_ping_a_local_model(tiny_model_dir: Path) -> None:
    pytest.importorskip("torch")
    result = runner.invoke(
        app, ["ping", f"hf:{tiny_model_dir}", "--max-new-tokens", "4", "--num-threads", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "finish=length" in result.output
    assert "+4 tokens" in result.output


def test_ping_errors_exit_1() -> None:
    unknown = runner.invoke(app, ["ping", "nope"])
    assert unknown.exit_code == 1
    assert "unknown LLM backend 'nope'" in unknown.output
    dead = runner.invoke(app, ["ping", "openai:m@http://127.0.0.1:9/v1"])
    assert dead.exit_code == 1
    assert "cannot reach http://127.0.0.1:9/v1" in dead.output


def test_convert_reports_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bundlekd.llm import model_store

    def fake_convert(gguf, target, progress):  # type: ignore[no-untyped-def]
        target.mkdir(parents=True)
        model_store.write_json(target / model_store.MANIFEST_NAME, {"conversion_s": 1.5})
        progress("converted")

    monkeypatch.setattr(model_store, "find_default_gguf", lambda: tmp_path / "x.gguf")
    monkeypatch.setattr(model_store, "_convert", fake_convert)
    result = runner.invoke(app, ["convert", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "smollm2-135m-instruct" in result.output
    assert "conversion took 1.5 s" in result.output
