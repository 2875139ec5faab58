"""`generate` fails clearly and early: an outage exits 1 and a re-run resumes, --out problems
are found before any model loads, a resume under another configuration needs --force, and
test-split knowledge in the KB is announced and recorded (then repeated by `eval`)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.cli.eval import eval_command
from bundlekd.cli.generate import generate_command
from bundlekd.errors import TransportError
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM

REPLY = '{"bundles": [{"items": [1, 2], "intent": "Go together"}]}'
BASE = ["generate", "--source", "sample", "--domain", "electronic", "--embedder", "hashing"]
BASE += ["--mode", "few_shot"]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("eval")(eval_command)
    return app


class Backends(list):
    """Every backend `generate` builds; past `down_after` answers they fail like an outage."""

    down_after: int | None = None

    def reply(self, request) -> str:
        answered = sum(len(llm.history) for llm in self)
        if self.down_after is not None and answered > self.down_after:
            raise TransportError("http://gpu:8000/v1 answered HTTP 503 after 4 tries")
        return REPLY


@pytest.fixture
def backends(monkeypatch: pytest.MonkeyPatch) -> Backends:
    made = Backends()

    def fake_get_llm(spec="smollm2", **options):
        made.append(ScriptedLLM(made.reply))
        return made[-1]

    monkeypatch.setattr(registry, "get_llm", fake_get_llm)
    return made


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_an_outage_exits_1_keeps_finished_lines_and_a_rerun_completes(
    app, backends, tmp_path: Path
) -> None:
    out = tmp_path / "p.jsonl"
    backends.down_after = 2
    args = [*BASE, "--mode", "zero_shot", "--batch-size", "2", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "HTTP 503" in _flat(result.output)
    assert "re-run the same command" in _flat(result.output)
    assert len(out.read_text().splitlines()) == 2  # the outage wrote no line

    backends.down_after = None
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    assert all(r["parsed"] and not r["errors"] for r in rows)


@pytest.mark.parametrize("where", ["under a file", "read-only"])
def test_an_unwritable_out_fails_before_anything_loads(
    app, backends, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "under a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "p.jsonl"
        reason = "Not a directory"
    else:
        import bundlekd.files

        def read_only(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(bundlekd.files.tempfile, "mkstemp", read_only)
        out = tmp_path / "p.jsonl"
        reason = "Read-only file system"
    result = CliRunner().invoke(app, [*BASE, "--out", str(out)])
    assert result.exit_code == 1
    assert f"cannot write: {reason}" in _flat(result.output)
    assert "Traceback" not in result.output
    assert backends == []  # no backend was even built


def test_a_different_mode_on_the_same_out_needs_force(app, backends, tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    first = CliRunner().invoke(
        app, [*BASE, "--mode", "zero_shot", "--limit", "2", "--out", str(out)]
    )
    assert first.exit_code == 0, first.output
    mixed = CliRunner().invoke(app, [*BASE, "--mode", "few_shot", "--out", str(out)])
    assert mixed.exit_code == 1
    flat = _flat(mixed.output)
    assert "config.mode: 'zero_shot' -> 'few_shot'" in flat
    assert "--force" in flat
    assert len(out.read_text().splitlines()) == 2
    forced = CliRunner().invoke(app, [*BASE, "--mode", "few_shot", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(out.read_text().splitlines()) == 4


def test_test_split_knowledge_is_announced_and_recorded_by_generate_and_eval(
    app, backends, tmp_path: Path
) -> None:
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.store.items import KnowledgeItem

    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    leaked = KnowledgeItem.new(
        "rule", "Cameras go with camera bags and filters.", "electronic", source_splits=["test"]
    )
    kb.add([leaked], force=True)
    out = tmp_path / "icl.jsonl"
    args = [*BASE, "--mode", "icl", "--kb", str(kb.kb_dir), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 item(s) distilled from the TEST split" in _flat(result.output)
    manifest = json.loads((tmp_path / "icl.jsonl.manifest.json").read_text())
    assert manifest["kb"]["test_items"] == 1
    assert manifest["knowledge"]["test_item_ids"] == [leaked.id]
    assert any("TEST split" in w for w in manifest["warnings"])

    evaluated = CliRunner().invoke(
        app, ["eval", str(out), "--gold", "sample", "--no-intents", "--out", str(tmp_path / "ev")]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "distilled from the TEST split" in _flat(evaluated.output)
    results = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert any("TEST split" in w for w in results["warnings"])
