"""Text with rich markup ("[/x]", "[/INST]") in ids, titles, intents, model answers, KB items
or method names is printed as it is: never parsed, never a crash, and chat keeps its session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.cli.chat import chat_command
from bundlekd.cli.eval import eval_command
from bundlekd.cli.generate import generate_command
from bundlekd.cli.kb import app as kb_app
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM

ANSWER = '{"bundles": [{"items": [1, 2], "intent": "[/x] Camera [bold]kit"}]}'


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    def reply(request) -> str:
        return ANSWER if request.json_schema else "[/INST] They are used [/] together."

    monkeypatch.setattr(registry, "get_llm", lambda spec="smollm2", **kw: ScriptedLLM(reply))
    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("chat")(chat_command)
    app.command("eval")(eval_command)
    app.add_typer(kb_app, name="kb")
    return app


def test_chat_prints_markup_as_text_and_keeps_its_session(app: typer.Typer) -> None:
    args = ["chat", "--items", "[/x] Camera bag", "--items", "UV [red]filter", "--items", "Tripod"]
    args += ["--mode", "zero_shot", "--embedder", "hashing"]
    result = CliRunner().invoke(app, args, input="why?\nrename 1 [/y] new\nshow\nquit\n")
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "1. [/x] Camera bag" in result.output
    assert "[/INST] They are used [/] together." in result.output
    assert "[/x] Camera [bold]kit" in result.output
    assert "[/y] new" in result.output  # the session went on after the model's "[/INST]"


def test_generate_eval_and_kb_print_markup_in_ids_and_texts(
    app: typer.Typer, tmp_path: Path
) -> None:
    session = {
        "session_id": "[/x]",
        "domain": "electronic",
        "split": "test",
        "items": [{"item_id": "a", "title": "[/b] bag"}, {"item_id": "b", "title": "filter"}],
        "bundles": [{"items": ["a", "b"], "intent": "kit"}],
    }
    sessions = tmp_path / "[red]s.jsonl"
    sessions.write_text(json.dumps(session) + "\n")
    out = tmp_path / "[/p].jsonl"
    result = CliRunner().invoke(
        app, ["generate", "--sessions", str(sessions), "--mode", "zero_shot", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "[/p].jsonl" in result.output

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    rows[0]["method"] = "[/method]"
    out.write_text(json.dumps(rows[0]) + "\n")
    result = CliRunner().invoke(
        app,
        ["eval", str(out), "--gold", str(sessions), "--no-intents", "--out", str(tmp_path / "e")],
    )
    assert result.exit_code == 0, result.output
    assert "[/method]" in result.output

    items = tmp_path / "items.jsonl"
    row = {"kind": "rule", "text": "[/x] Bags [bold]go", "domain": "electronic"}
    items.write_text(json.dumps({**row, "source_splits": ["train"]}) + "\n")
    kb_dir = tmp_path / "[/kb]"
    hashing = ["--embedder", "hashing", "--index", "numpy"]
    assert CliRunner().invoke(app, ["kb", "add", str(kb_dir), str(items), *hashing]).exit_code == 0
    found = CliRunner().invoke(app, ["kb", "search", str(kb_dir), "[/q] bags"])
    assert found.exit_code == 0, found.output
    assert "[/x] Bags [bold]go" in found.output
