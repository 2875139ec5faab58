"""KnowledgeStore: roundtrip, manifest, migrations, history/rollback, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.files import file_sha256
from bundlekd.knowledge_base.store.items import SCHEMA_VERSION, KnowledgeItem, content_id
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore, read_items


def _item(text: str, kind: str = "rule", domain: str = "food", **kw: object) -> KnowledgeItem:
    kw.setdefault("source_splits", ["train"])  # provenance is required (leakage guard)
    return KnowledgeItem.new(kind, text, domain, **kw)  # type: ignore[arg-type]


def _add(store: KnowledgeStore, *items: KnowledgeItem) -> None:
    with store.transaction("add") as tx:
        for item in items:
            tx.put(item, "add")


def test_id_is_a_content_hash_of_kind_domain_and_normalised_text() -> None:
    a = _item("Pasta  goes with SAUCE ")
    assert (
        a.id
        == _item("pasta goes with sauce").id
        == content_id("rule", "food", "pasta goes with sauce")
    )
    assert a.id != _item("pasta goes with sauce", kind="thought").id
    assert a.id != _item("pasta goes with sauce", domain="clothing").id
    assert a.status == "active"
    assert a.schema_version == SCHEMA_VERSION
    assert a.created_at.endswith("Z")
    with pytest.raises(ValueError, match="content hash"):
        KnowledgeItem(**{**a.to_row(), "text": "something else"})
    with pytest.raises(ValueError, match="extra"):
        KnowledgeItem(**{**a.to_row(), "colour": "red"})


def test_roundtrip_and_manifest(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path / "kb")
    store.init(embedder_id="hashing-256", index_backend="numpy")
    items = [
        _item("Pasta goes with sauce", source_session_ids=["s2", "s1"], source_splits=["train"]),
        _item("Chips go with salsa", teacher="qwen", prompt_version="rules-v1"),
        _item("Cases + screen protectors", "pattern", "electronic", stats={"support": 0.04}),
    ]
    _add(store, *items)
    reread = KnowledgeStore(tmp_path / "kb")
    assert list(reread.load().values()) == items
    assert reread.get(items[0].id).source_session_ids == ("s1", "s2")
    assert reread.items(kind="pattern") == [items[2]]
    assert reread.items(domain="food") == items[:2]

    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert manifest["counts"] == {
        "total": 3,
        "active": 3,
        "by_kind": {"pattern": 1, "rule": 2},
        "by_status": {"active": 3},
        "by_domain": {"electronic": 1, "food": 2},
        "by_split": {"train": 3},
    }
    assert manifest["embedder_id"] == "hashing-256"
    assert manifest["index_backend"] == "numpy"
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["knowledge_sha256"] == file_sha256(tmp_path / "kb" / "knowledge.jsonl")
    assert manifest["last_seq"] == 1
    assert reread.settings["embedder_id"] == "hashing-256"


def test_bad_row_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.jsonl"
    good = _item("fine").to_row()
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "kind": "poem"}) + "\n")
    with pytest.raises(DataError, match=r"knowledge.jsonl:2: field 'kind'"):
        read_items(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(DataError, match=r":2: duplicate id"):
        read_items(path)


def test_migration_from_version_0_rewrites_the_file(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    old = {"kind": "rule", "text": "Tea goes with honey", "domain": "food"}  # pre-release row
    (kb / "knowledge.jsonl").write_text(json.dumps(old) + "\n")
    store = KnowledgeStore(kb)
    assert store.migrate() == 1
    row = json.loads((kb / "knowledge.jsonl").read_text())
    assert row["schema_version"] == 1
    assert row["id"] == content_id("rule", "food", "Tea goes with honey")
    assert row["status"] == "active"
    assert store.history()[-1]["op"] == "migrate"
    assert store.migrate() == 0
    (kb / "knowledge.jsonl").write_text(json.dumps({**row, "schema_version": 99}) + "\n")
    with pytest.raises(DataError, match="newer than this bundlekd"):
        KnowledgeStore(kb).load()


def test_history_and_rollback(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path / "kb")
    a, b = _item("A goes with a"), _item("B goes with b")
    _add(store, a)  # op 1
    _add(store, b)  # op 2
    with store.transaction("remove") as tx:  # op 3
        tx.put(a.replace(status="removed"), "remove")
    assert [e["op"] for e in store.history()] == ["add", "add", "remove"]
    assert store.history()[2]["changes"] == [{"action": "remove", "id": a.id}]

    assert store.rollback() == 3  # undo the remove
    assert {i.id for i in store.items()} == {a.id, b.id}
    assert store.rollback() == 2  # then undo the second add
    assert {i.id for i in store.items()} == {a.id}
    assert store.rollback(to=1) == 1
    assert store.load() == {}
    assert store.history()[-1]["summary"] == {"to": 1, "files": "restored"}
    assert store.rollback(to=5) == 5  # a rollback is itself undoable: back to "before op 5"
    assert {i.id for i in store.items()} == {a.id, b.id}
    assert store.get(a.id).status == "active"


def test_unchanged_transaction_writes_nothing(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path / "kb")
    _add(store, _item("x goes with y"))
    with store.transaction("add"):
        pass
    assert len(store.history()) == 1
    assert store.snapshots() == [1]


def test_only_the_last_snapshots_are_kept(tmp_path: Path) -> None:
    store = KnowledgeStore(tmp_path / "kb", keep_snapshots=3)
    for n in range(5):
        _add(store, _item(f"item {n}"))
    assert store.snapshots() == [3, 4, 5]
    with pytest.raises(KnowledgeBaseError, match="snapshot 1 is not kept"):
        store.rollback(to=1)
    assert store.rollback(to=3) == 3
    assert len(store.items()) == 2


def _writer(kb_dir: str, worker: int, n: int) -> None:
    """One process adding n distinct items, one transaction each (maximal interleaving)."""
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import HashingEmbedder

    kb = KnowledgeBase.open(kb_dir, embedder=HashingEmbedder(64), index="numpy")
    for j in range(n):
        item = _item(f"worker {worker} rule {j}", source_session_ids=[f"w{worker}-s{j}"])
        # Merging off: a 64-d hashing embedder collides on these near-identical texts.
        kb.add([item], merge_threshold=None)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import HashingEmbedder

    kb_dir = tmp_path / "kb"
    KnowledgeBase.create(kb_dir, embedder=HashingEmbedder(64), index="numpy")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(kb_dir), w, 50)) for w in (1, 2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
    assert [proc.exitcode for proc in procs] == [0, 0]

    kb = KnowledgeBase.open(kb_dir, embedder=HashingEmbedder(64), index="numpy")
    texts = {i.text for i in kb.items()}
    assert texts == {f"worker {w} rule {j}" for w in (1, 2) for j in range(50)}
    history = kb.history()
    assert [e["seq"] for e in history] == list(range(1, 101))
    assert {e["pid"] for e in history} == {p.pid for p in procs}
    assert sorted(kb.index.ids()) == sorted(i.id for i in kb.items())
