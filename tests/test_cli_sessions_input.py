"""The whole input is checked before the first batch (issue 16.11), and typed-in products get a
domain from the KB when a learned tool needs one (issue 16.8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.sources import load_sample
from bundlekd.llm import registry
from bundlekd.llm.fake import ScriptedLLM

REPLY = '{"bundles": [{"items": [1, 2], "intent": "Go together"}]}'


@pytest.fixture(scope="module")
def learned_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB of the sample's exemplars with a learned grouping tool (hashing embedder)."""
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb_dir = tmp_path_factory.mktemp("kb")
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder, scorer="learned")
    return kb_dir


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "get_llm", lambda spec="x", **_: ScriptedLLM(lambda _: REPLY))


def _sessions_file(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(sid: str, titles: list[str], *, domain: str = "electronic", split: str | None = "test"):
    row = {"session_id": sid, "domain": domain}
    row["items"] = [{"item_id": f"{sid}-{n}", "title": t} for n, t in enumerate(titles)]
    if split is not None:
        row["split"] = split
    return row


def test_validate_and_generate_say_what_is_skipped_and_why(tmp_path: Path, scripted) -> None:
    path = _sessions_file(
        tmp_path,
        [
            _row("a", ["Camera bag", "UV filter"], split=None),
            _row("b", ["Tripod", "   ", "Lens cap"]),
        ],
    )
    checked = CliRunner().invoke(app, ["data", "validate", str(path)])
    assert 'have no "split"' in checked.output
    out = tmp_path / "p.jsonl"
    args = ["generate", "--sessions", str(path), "--mode", "zero_shot", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--embedder", "hashing"])
    assert result.exit_code == 0, result.output
    assert "1 session(s) in" in result.stderr
    assert 'no "split" and were skipped' in result.stderr
    assert "without a title" in result.stderr  # what `data validate` says about b
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["session_id"] for r in rows] == ["b"]
    # The model bundled products 1 and 2; 2 has no title, so no bundle is left to claim.
    assert rows[0]["bundles"] == []
    assert "untitled item(s) left out of bundles: ['b-1']" in rows[0]["errors"]


def test_an_unknown_domain_is_refused_before_the_first_batch(
    tmp_path: Path, learned_kb: Path, scripted
) -> None:
    rows = [_row(f"e{n}", ["Camera bag", "UV filter", "Tripod"]) for n in range(3)]
    rows.append(_row("t1", ["Toy car", "Toy truck"], domain="toys"))
    path = _sessions_file(tmp_path, rows)
    out = tmp_path / "p.jsonl"
    args = ["generate", "--sessions", str(path), "--mode", "tool", "--kb", str(learned_kb)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--batch-size", "1"])
    assert result.exit_code == 1
    assert "1 session(s) are of domain(s) ['toys']" in result.stderr
    assert not out.exists() or not out.read_text().strip()  # nothing predicted before it


def test_chat_with_typed_items_infers_the_domain_for_a_learned_tool(
    learned_kb: Path, scripted
) -> None:
    titles = [s.items[i].title for s in load_sample().split("test")[:1] for i in range(3)]
    args = ["chat", "--kb", str(learned_kb), "--mode", "tool"]
    for title in titles:
        args += ["--items", title]
    result = CliRunner().invoke(app, args, input="quit\n")
    assert result.exit_code == 0, result.output
    domain = load_sample().split("test")[0].domain
    assert f"domain {domain}: inferred from the KB's exemplars" in result.output
    assert "bundle(s) proposed" in result.output
