"""Credentials in model URLs never reach files or screens; terminal escapes in data and model
text are stripped before printing (issue 16.13, 16.14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.config import load_config, write_resolved_config

URL_SPEC = "openai:M@http://user:SECRETKEY@127.0.0.1:9/v1"


def test_redact_and_printable() -> None:
    from bundlekd.sanitize import printable, redact

    assert redact(URL_SPEC) == "openai:M@http://***@127.0.0.1:9/v1"
    assert (
        redact("see https://tok@h.io/x and http://h/y") == "see https://***@h.io/x and http://h/y"
    )
    assert printable("Cam\x1b]0;pwned\x07era \x1b[31mred\x1b[0m\tbag\x07\x9b") == "Camera red\tbag"


def test_generate_never_writes_or_prints_the_key(tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    args = ["generate", "--source", "sample", "--domain", "electronic", "--limit", "1"]
    args += ["--mode", "zero_shot", "--embedder", "hashing", "--model", URL_SPEC, "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1  # nothing listens on port 9
    assert "cannot reach http://***@127.0.0.1:9/v1" in result.stderr
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert any(p.name.endswith(".config.yaml") for p in written)
    assert any(p.name.endswith(".manifest.json") for p in written)
    for path in written:
        assert "SECRETKEY" not in path.read_text(errors="replace"), path
    assert "SECRETKEY" not in result.output


def test_resolved_configs_and_config_show_redact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_config(overrides={"teacher.model": URL_SPEC}, environ={})
    text = write_resolved_config(loaded, tmp_path / "distill.config.yaml").read_text()
    assert "openai:M@http://***@127.0.0.1:9/v1" in text
    assert "SECRETKEY" not in text
    monkeypatch.setenv("BUNDLEKD_TEACHER__MODEL", URL_SPEC)
    for fmt in ("table", "yaml"):
        result = CliRunner().invoke(app, ["config", "show", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "***@127.0.0.1" in result.stdout
        assert "SECRETKEY" not in result.stdout


def test_chat_strips_escapes_from_titles_and_model_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from bundlekd.llm import registry
    from bundlekd.llm.fake import ScriptedLLM

    reply = '{"bundles": [{"items": [1, 2], "intent": "Go\\u001b[2J together\\u001b]0;x\\u0007"}]}'
    monkeypatch.setattr(registry, "get_llm", lambda spec="x", **_: ScriptedLLM(lambda _: reply))
    args = ["chat", "--items", "Camera\x1b]0;pwned\x07 bag", "--items", "UV \x1b[31mfilter"]
    result = CliRunner().invoke(app, [*args, "--mode", "zero_shot"], input="quit\n")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "\x07" not in result.output
    assert "1. Camera bag" in result.output
    assert "Go together" in result.output


def test_table_cells_are_printable() -> None:
    from bundlekd.eval.tables import TableData, columns, render_text

    table = TableData("t\x1b[2J", columns(("method", "method", False)))
    table.add({"method": "tool\x1b]0;x\x07"})
    for fmt in ("markdown", "csv"):
        assert "\x1b" not in render_text(table, fmt)
