"""`generate` and `chat` commands through typer's CliRunner, with a scripted backend."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.cli.chat import chat_command
from bundlekd.cli.generate import generate_command
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM

REPLY = (
    '{"bundles": [{"items": [1, 2], "intent": "Go together"}, {"items": [3, 4], "intent": "Kit"}]}'
)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("chat")(chat_command)
    return app


@pytest.fixture
def scripted(monkeypatch):
    made = []

    def fake_get_llm(spec="smollm2", **options):
        def reply(request):
            return REPLY if request.json_schema else "They are used together."

        llm = ScriptedLLM(reply)
        made.append((spec, options, llm))
        return llm

    monkeypatch.setattr(registry, "get_llm", fake_get_llm)
    return made


def test_generate_writes_predictions_and_resumes(app, scripted, tmp_path):
    out = tmp_path / "preds.jsonl"
    args = ["generate", "--source", "sample", "--domain", "electronic", "--out", str(out)]
    args += ["--embedder", "hashing", "--batch-size", "3", "--threads", "1", "--mode", "few_shot"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["session_id"] for r in rows) == ["e017", "e018", "e019", "e020"]
    assert all(r["parsed"] and r["method"] == "few_shot-k1" for r in rows)
    assert "parsed output" in result.output
    assert "4/4" in result.output
    spec, options, llm = scripted[0]
    assert spec == "smollm2"
    assert options == {
        "batch_size": 3,
        "num_threads": 1,
        "device": "auto",
        "dtype": "auto",
        "max_batch_tokens": 8192,
    }
    first = llm.history[0]
    assert [m.role for m in first.messages] == ["system", "user", "assistant", "user"]
    manifest = json.loads((tmp_path / "preds.jsonl.manifest.json").read_text())
    assert manifest["complete"]
    assert manifest["file"]["lines"] == 4
    resolved = (tmp_path / "preds.jsonl.config.yaml").read_text()
    assert "batch_size: 3" in resolved  # the run's resolved configuration sits beside it

    again = CliRunner().invoke(app, [*args, "--mode", "few_shot"])
    assert again.exit_code == 0, again.output
    assert len(scripted[1][2].history) == 0
    assert "skipped" in again.output


def test_generate_zero_shot_with_limit_from_a_sessions_file(app, scripted, tmp_path):
    from bundlekd.data.sessions_jsonl import write_sessions
    from bundlekd.data.sources import load_sample

    sessions_file = tmp_path / "s.jsonl"
    write_sessions(sessions_file, load_sample().sessions)
    out = tmp_path / "p.jsonl"
    args = ["generate", "--sessions", str(sessions_file), "--mode", "zero_shot", "--limit", "2"]
    result = CliRunner().invoke(app, [*args, "--no-constrained", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2
    assert scripted[0][2].history[0].json_schema is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--source", "sample", "--sessions", "x.jsonl"], "not both"),
        (["--source", "sample", "--mode", "icl"], "--kb"),
        (["--source", "sample", "--mode", "zero_shot", "--kb", "kbdir"], "only used with"),
        (["--source", "sample", "--mode", "fancy"], "generation.mode"),
        (["--source", "sample", "--examples", "99"], "n_examples"),
        (["--source", "nowhere"], "unknown source"),
    ],
)
def test_generate_bad_options_exit_1_with_a_message(app, scripted, tmp_path, extra, message):
    result = CliRunner().invoke(
        app, ["generate", "--out", str(tmp_path / "p.jsonl"), "--embedder", "hashing", *extra]
    )
    assert result.exit_code == 1
    assert message in result.output


def test_chat_first_turn_edit_question_and_quit(app, scripted):
    args = ["chat", "--source", "sample", "--session-id", "e017", "--embedder", "hashing"]
    args += ["--mode", "few_shot"]
    result = CliRunner().invoke(app, args, input="merge 1 2\nwhy?\nquit\n")
    assert result.exit_code == 0, result.output
    assert "2 bundle(s) proposed." in result.output
    assert "Merged bundles 1, 2." in result.output
    assert "They are used together." in result.output
    assert len(scripted[0][2].history) == 2  # first turn + the question; the edit stayed local


def test_chat_with_typed_items_ends_on_eof(app, scripted):
    args = ["chat", "--items", "Camera bag", "--items", "UV filter", "--items", "Tripod"]
    args += ["--items", "Lens cap", "--mode", "zero_shot"]
    result = CliRunner().invoke(app, args, input="show\n")
    assert result.exit_code == 0, result.output
    assert "1. Camera bag" in result.output
    assert "Go together" in result.output


def test_generate_icl_reads_knowledge_from_a_real_kb(app, scripted, tmp_path):
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb_dir = tmp_path / "kb"
    train = load_sample().split("train")
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(train, kinds=["pattern"], kb_dir=kb_dir, kb=kb)
    assert any(item.kind == "pattern" for item in kb.items())

    out = tmp_path / "icl.jsonl"
    args = ["generate", "--source", "sample", "--domain", "electronic", "--out", str(out)]
    args += ["--mode", "icl", "--kb", str(kb_dir), "--embedder", "hashing", "--top-k", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["method"] for r in rows} == {"icl-k1-top2"}
    with_knowledge = [r for r in rows if r["knowledge_ids"]]
    assert with_knowledge, rows
    first = scripted[0][2].history[0]
    assert "Knowledge that may help:" in first.messages[0].content
