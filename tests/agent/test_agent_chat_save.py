"""Chat's `save`: the bundles as the user left them become the session's knowledge, the next
answer uses them (the next chat on that session opens with them), and a test session's
labels are refused. A real KB (sample, hashing embedder, learned tool), a scripted LLM."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.cli.chat import chat_command
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("chat")(chat_command)
    app.command("noop")(lambda: None)  # two commands: typer keeps `chat` as a subcommand
    return app


@pytest.fixture(autouse=True)
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "get_llm", lambda spec="smollm2", **options: ScriptedLLM("Fine."))


@pytest.fixture
def kb_dir(learned_sample_kb: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(learned_sample_kb, tmp_path / "kb"))


def _chat(app: typer.Typer, kb_dir: Path, session_id: str, lines: str) -> str:
    args = ["chat", "--source", "sample", "--session-id", session_id, "--kb", str(kb_dir)]
    result = CliRunner().invoke(app, [*args, "--mode", "tool"], input=lines)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_save_keeps_the_edited_bundles_and_the_next_chat_opens_with_them(
    app: typer.Typer, kb_dir: Path
) -> None:
    first = _chat(app, kb_dir, "e010", "merge 1 2\nrename 1 my camera kit\nshow\nsave\nquit\n")
    assert "saved as knowledge" in first
    assert "kb rollback" in first
    history = KnowledgeBase.open(kb_dir, read_only=True).history()
    assert history[-1]["op"] == "feedback"
    assert history[-1]["summary"]["session"] == "electronic/e010"
    again = _chat(app, kb_dir, "e010", "save\nquit\n")
    assert "my camera kit" in again  # the first answer is the saved label
    assert "already holds this label" in again


def test_save_refuses_a_test_session_and_writes_nothing(app: typer.Typer, kb_dir: Path) -> None:
    seq = KnowledgeBase.open(kb_dir, read_only=True).store.last_seq()
    out = _chat(app, kb_dir, "e017", "save\nquit\n")
    assert "not saved" in out
    assert "test session" in out
    assert KnowledgeBase.open(kb_dir, read_only=True).store.last_seq() == seq


def test_save_without_a_kb_says_how(app: typer.Typer) -> None:
    args = ["chat", "--source", "sample", "--session-id", "e010", "--mode", "few_shot"]
    result = CliRunner().invoke(app, [*args, "--embedder", "hashing"], input="save\nquit\n")
    assert result.exit_code == 0, result.output
    assert "saving needs a knowledge base" in " ".join(result.output.split())
