"""KB hardening: reads never write, every row field is validated on the way in, rows must say
where their labels came from, and a crash between the knowledge and the history write is
logged on the next write instead of being silently dropped by a later rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.cli.kb import app as kb_app
from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store import knowledge_store
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore
from bundlekd.llm.embeddings import HashingEmbedder

RULE = {
    "kind": "rule",
    "text": "Phone cases go with screen protectors",
    "domain": "electronic",
    "source_splits": ["train"],
}


@pytest.fixture
def cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(kb_app, name="kb")
    return root


def _kb_files(kb_dir: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(kb_dir)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(kb_dir.rglob("*"))
        if p.is_file()
    }


def _rule(text: str) -> KnowledgeItem:
    return KnowledgeItem.new("rule", text, "electronic", source_splits=["train"])


def _made_kb(tmp_path: Path) -> Path:
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=HashingEmbedder(64), index="numpy")
    kb.add([_rule("Phone cases go with screen protectors"), _rule("Laptops go with sleeves")])
    return kb.kb_dir


def test_reads_never_write_and_a_different_embedder_is_an_error(
    cli: typer.Typer, tmp_path: Path
) -> None:
    kb_dir = _made_kb(tmp_path)
    before = _kb_files(kb_dir)
    runner = CliRunner()
    reads = (
        ["search", str(kb_dir), "phone case"],
        ["stats", str(kb_dir)],
        ["diff", str(kb_dir), str(kb_dir / "knowledge.jsonl")],
        ["history", str(kb_dir)],
    )
    for args in reads:
        result = runner.invoke(cli, ["kb", *args])
        assert result.exit_code == 0, result.output
    from bundlekd.app.components import open_kb  # what generate and chat open a KB with
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.llm.config import EmbedderConfig

    assert len(open_kb(KBConfig(dir=kb_dir), EmbedderConfig()).search("laptop", k=1)) == 1
    with pytest.raises(KnowledgeBaseError, match="a read does not re-embed"):
        open_kb(KBConfig(dir=kb_dir), EmbedderConfig(name="hashing"))
    result = runner.invoke(cli, ["kb", "search", str(kb_dir), "phone", "--embedder", "hashing"])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "made by embedder 'hashing-64', not 'hashing-256'" in flat
    assert _kb_files(kb_dir) == before  # no manifest rewrite, no re-embedded index
    with pytest.raises(KnowledgeBaseError, match="its index is 'numpy', not 'faiss'"):
        KnowledgeBase.open(kb_dir, index="faiss", read_only=True)


def test_a_read_of_a_kb_without_its_index_searches_in_memory_and_writes_nothing(
    tmp_path: Path,
) -> None:
    kb_dir = _made_kb(tmp_path)
    for path in (kb_dir / "index").rglob("*"):
        if path.is_file():
            path.unlink()
    before = _kb_files(kb_dir)
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    hits = kb.search("phone case", k=1)
    assert hits[0][0].text == "Phone cases go with screen protectors"
    assert _kb_files(kb_dir) == before


def test_a_row_with_badly_typed_stats_is_refused_and_never_poisons_later_adds(
    cli: typer.Typer, tmp_path: Path
) -> None:
    kb_dir = tmp_path / "kb"
    runner = CliRunner()
    poisoned = tmp_path / "bad.jsonl"
    bad_row = {**RULE, "text": "Chargers go with cables", "stats": {"merged_ids": 5}}
    poisoned.write_text(json.dumps(RULE) + "\n" + json.dumps(bad_row) + "\n")
    hashing = ["--embedder", "hashing", "--index", "numpy"]
    result = runner.invoke(cli, ["kb", "add", str(kb_dir), str(poisoned), *hashing])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "bad.jsonl:2: field 'stats': stats['merged_ids'] must be a list of item ids" in flat
    assert not (kb_dir / "knowledge.jsonl").exists()  # refused before anything was written

    good = tmp_path / "good.jsonl"
    near = {**RULE, "text": "Phone cases go with screen protectors often"}
    good.write_text(json.dumps(RULE) + "\n" + json.dumps(near) + "\n")
    for _ in range(2):  # adding, then merging into existing rows, keeps working
        result = runner.invoke(cli, ["kb", "add", str(kb_dir), str(good), *hashing])
        assert result.exit_code == 0, result.output

    for stats, message in (
        ({"merged_count": "3"}, "merged_count'] must be a non-negative integer"),
        ({"support": float("nan")}, "not a JSON value"),
        ({"titles": "one title"}, "titles'] must be a list of strings"),
    ):
        with pytest.raises(ValueError, match=message):
            KnowledgeItem.new("rule", "x y z", "electronic", stats=stats)
    with pytest.raises(ValueError, match="not an ISO-8601 time"):
        KnowledgeItem.new("rule", "x y z", "electronic", created_at="yesterday")


def test_a_bad_row_already_in_knowledge_jsonl_names_file_line_and_field(tmp_path: Path) -> None:
    kb_dir = _made_kb(tmp_path)
    path = kb_dir / "knowledge.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["stats"] = {"merged_ids": 5}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"knowledge.jsonl:2: field 'stats'"):
        KnowledgeStore(kb_dir).load()


def test_rows_without_source_splits_need_force_and_reads_then_warn(
    cli: typer.Typer, tmp_path: Path
) -> None:
    kb_dir = tmp_path / "kb"
    rows = tmp_path / "rows.jsonl"
    no_split = {key: value for key, value in RULE.items() if key != "source_splits"}
    rows.write_text(json.dumps(no_split) + "\n")
    runner = CliRunner()
    hashing = ["--embedder", "hashing", "--index", "numpy"]
    refused = runner.invoke(cli, ["kb", "add", str(kb_dir), str(rows), *hashing])
    assert refused.exit_code == 1
    assert "1 row" in refused.output
    assert "without a known split" in " ".join(refused.output.split())
    forced = runner.invoke(cli, ["kb", "add", str(kb_dir), str(rows), *hashing, "--force"])
    assert forced.exit_code == 0, forced.output
    stats = runner.invoke(cli, ["kb", "stats", str(kb_dir)])
    assert "no known source split" in " ".join(stats.output.split())
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    assert kb.provenance()["unknown_split_items"] == 1


def test_a_crash_between_the_knowledge_and_the_history_write_is_logged_and_undoable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb_dir = _made_kb(tmp_path)
    before = KnowledgeStore(kb_dir).load()
    kb = KnowledgeBase.open(kb_dir)

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # killed right after knowledge.jsonl was rewritten

    with monkeypatch.context() as patch:
        patch.setattr(knowledge_store, "append_jsonl", crash)
        with pytest.raises(KeyboardInterrupt):
            kb.add([_rule("Cameras go with memory cards")])
    store = KnowledgeStore(kb_dir)
    assert len(store.load()) == 3  # the change is on disk ...
    assert [e["op"] for e in store.history()] == ["add"]  # ... but not logged
    assert store.unlogged_change() == 2

    reopened = KnowledgeBase.open(kb_dir)  # a write-mode open logs it
    assert [e["op"] for e in reopened.history()] == ["add", "recovered"]
    assert reopened.history()[-1]["summary"]["added"] == 1
    assert reopened.rollback() == 2  # the rollback undoes the unlogged change, not the add
    assert reopened.store.load() == before
