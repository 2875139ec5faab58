"""`bundlekd kb ...` through typer's CliRunner, on a test app that mounts bundlekd.cli.kb.app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundlekd.cli.kb import app as kb_app
from bundlekd.knowledge_base.store.items import content_id
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

ROWS = [
    {"kind": "rule", "text": "Phone cases go with screen protectors", "domain": "electronic",
     "source_session_ids": ["s1"], "source_splits": ["train"], "teacher": "tiny"},
    {"kind": "pattern", "text": "Cases & Sleeves + Screen Protectors", "domain": "electronic",
     "stats": {"support": 0.04, "confidence": 0.61}, "teacher": "apriori",
     "source_splits": ["train"]},
    {"kind": "rule", "text": "Pasta is bought with tomato sauce", "domain": "food",
     "source_splits": ["val"]},
]  # fmt: skip
HASHING = ["--embedder", "hashing", "--index", "numpy"]


@pytest.fixture
def cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(kb_app, name="kb")
    return root


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _id(row: dict) -> str:
    return content_id(row["kind"], row["domain"], row["text"])


def _flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def _run(cli: typer.Typer, *args: str) -> str:
    result = CliRunner().invoke(cli, ["kb", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_add_search_stats_history(cli: typer.Typer, tmp_path: Path) -> None:
    kb_dir, items = tmp_path / "kb", _jsonl(tmp_path / "items.jsonl", ROWS)
    out = _run(cli, "add", str(kb_dir), str(items), *HASHING)
    assert "added" in out
    assert "3" in out
    assert len(KnowledgeStore(kb_dir).items()) == 3
    again = _run(cli, "add", str(kb_dir), str(items))  # embedder/index come from the manifest
    assert "unchanged" in again
    assert len(KnowledgeStore(kb_dir).history()) == 1

    out = _run(
        cli, "search", str(kb_dir), "phone case; screen protector", "-k", "1", "--kind", "rule"
    )
    assert _id(ROWS[0]) in out  # ids, not texts: rich wraps long cells in an 80-column table
    assert _id(ROWS[2]) not in out

    out = _run(cli, "stats", str(kb_dir))
    for word in ("pattern", "rule", "electronic", "food", "train", "val", "hashing-256", "numpy"):
        assert word in out

    out = _run(cli, "history", str(kb_dir))
    assert "added=3" in out


def test_remove_rollback_diff_rebuild(cli: typer.Typer, tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    _run(cli, "add", str(kb_dir), str(_jsonl(tmp_path / "a.jsonl", ROWS)), *HASHING)
    victim = KnowledgeStore(kb_dir).items(domain="food")[0].id
    snapshot = tmp_path / "before.jsonl"
    snapshot.write_text((kb_dir / "knowledge.jsonl").read_text())

    assert victim in _run(cli, "remove", str(kb_dir), victim[:8])
    assert KnowledgeStore(kb_dir).get(victim).status == "removed"
    out = _run(cli, "diff", str(kb_dir), str(snapshot))
    assert victim in out
    assert "changed" in out

    assert "before operation 2" in _flat(_run(cli, "rollback", str(kb_dir)))
    assert KnowledgeStore(kb_dir).get(victim).status == "active"
    _run(cli, "rollback", str(kb_dir), "--to", "1")
    assert KnowledgeStore(kb_dir).items() == []

    _run(cli, "rollback", str(kb_dir), "--to", "4")  # undo that rollback
    assert "3 item(s) embedded" in _flat(_run(cli, "rebuild", str(kb_dir)))


def test_errors_exit_1_with_a_message(cli: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["kb", "stats", str(tmp_path / "nothing"), *HASHING])
    assert missing.exit_code == 1
    assert "not a knowledge base" in _flat(missing.output)

    bad = _jsonl(tmp_path / "bad.jsonl", [ROWS[0], {"kind": "poem", "text": "x", "domain": "d"}])
    result = runner.invoke(cli, ["kb", "add", str(tmp_path / "kb"), str(bad), *HASHING])
    assert result.exit_code == 1
    assert "bad.jsonl:2: field 'kind'" in _flat(result.output)

    leak = _jsonl(tmp_path / "leak.jsonl", [{**ROWS[0], "source_splits": ["test"]}])
    result = runner.invoke(cli, ["kb", "add", str(tmp_path / "kb"), str(leak), *HASHING])
    assert result.exit_code == 1
    assert "test split" in _flat(result.output)
