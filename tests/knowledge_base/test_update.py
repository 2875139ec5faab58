"""Incremental updates: exact dedupe, near-duplicate merge, remove, supersede, index sync."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bundlekd.errors import KnowledgeBaseError, LeakageError
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.embeddings import HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    """Hashing embedder that counts the texts it embeds."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__(dim)
        self.embedded = 0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_batch(texts)


def _rule(text: str, domain: str = "electronic", kind: str = "rule", **kw: object) -> KnowledgeItem:
    kw.setdefault("source_splits", ["train"])  # provenance is required (leakage guard)
    return KnowledgeItem.new(kind, text, domain, **kw)  # type: ignore[arg-type]


BASE = [
    _rule("Phone cases are bundled with screen protectors and chargers", source_session_ids=["s1"]),
    _rule("Laptops come with sleeves and a wireless mouse", source_session_ids=["s2"]),
    _rule("Pasta is bought with tomato sauce and parmesan", "food", source_session_ids=["s3"]),
]
# Same words as BASE[0] plus one: hashing cosine 9/sqrt(90) = 0.95 >= 0.92.
NEAR_DUP = _rule(
    "Phone cases are bundled with screen protectors and chargers often",
    source_session_ids=["s9"],
    source_splits=["train"],
)


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase.create(tmp_path / "kb", embedder=CountingEmbedder(), index="numpy")


def test_exact_duplicates_are_no_ops_and_only_new_ids_are_embedded(kb: KnowledgeBase) -> None:
    first = kb.add(BASE)
    assert first.counts() == {"added": 3, "merged": 0, "unchanged": 0, "embedded": 3}
    kb.embedder.embedded = 0  # type: ignore[attr-defined]
    new = _rule("Cameras go with memory cards", "electronic")
    again = kb.add([*BASE, BASE[0], new])
    assert again.counts() == {"added": 1, "merged": 0, "unchanged": 4, "embedded": 1}
    assert kb.embedder.embedded == 1  # type: ignore[attr-defined]
    assert len(kb.history()) == 2
    assert kb.add(BASE).counts()["unchanged"] == 3
    assert len(kb.history()) == 2  # nothing changed, nothing logged
    assert sorted(kb.index.ids()) == sorted(i.id for i in kb.items())


def test_near_duplicate_is_merged_into_the_existing_item(kb: KnowledgeBase) -> None:
    kb.add(BASE)
    result = kb.add(
        [NEAR_DUP, _rule(NEAR_DUP.text, domain="food"), _rule(NEAR_DUP.text, kind="thought")]
    )
    # Only the same kind + domain merges; the food and thought variants are new items.
    assert (result.added, result.merged) == (2, 1)
    assert result.merged_into == {NEAR_DUP.id: BASE[0].id}
    kept = kb.get(BASE[0].id)
    assert kept.text == BASE[0].text
    assert kept.source_session_ids == ("s1", "s9")
    assert kept.source_splits == ("train",)
    assert kept.stats["merged_count"] == 1
    assert kept.stats["merged_ids"] == [NEAR_DUP.id]
    assert kb.get(NEAR_DUP.id) is None
    kb.embedder.embedded = 0  # type: ignore[attr-defined]
    again = kb.add([NEAR_DUP])  # re-running a distillation: a known merge is a no-op
    assert again.counts() == {"added": 0, "merged": 0, "unchanged": 1, "embedded": 0}
    assert kb.get(BASE[0].id).stats["merged_count"] == 1
    merge = [c for c in kb.history()[-1]["changes"] if c["action"] == "merge"]
    assert merge == [
        {
            "action": "merge",
            "id": BASE[0].id,
            "merged_from": NEAR_DUP.id,
            "cosine": pytest.approx(0.9487, abs=1e-3),
        }
    ]


def test_threshold_controls_merging(tmp_path: Path) -> None:
    strict = KnowledgeBase.create(tmp_path / "a", embedder=HashingEmbedder(), index="numpy")
    strict.add(BASE)
    assert strict.add([NEAR_DUP], merge_threshold=0.99).added == 1
    off = KnowledgeBase.create(tmp_path / "b", embedder=HashingEmbedder(), index="numpy")
    off.add(BASE)
    assert off.add([NEAR_DUP], merge_threshold=None).added == 1


def _state(kb: KnowledgeBase) -> list[tuple[str, tuple[str, ...], dict]]:
    return sorted((i.id, i.source_session_ids, i.stats) for i in kb.items(status=None))


def test_merge_result_does_not_depend_on_input_order(tmp_path: Path) -> None:
    batch = [
        *BASE,
        NEAR_DUP,
        _rule("Laptops come with sleeves and a wireless mouse pad", source_session_ids=["s7"]),
        _rule(
            "Pasta is bought with tomato sauce and parmesan cheese",
            "food",
            source_session_ids=["s8"],
        ),
        _rule("Headphones go with carrying cases"),
    ]
    states = []
    for seed in range(4):
        shuffled = batch[:]
        random.Random(seed).shuffle(shuffled)
        kb = KnowledgeBase.create(tmp_path / f"kb{seed}", embedder=HashingEmbedder(), index="numpy")
        result = kb.add(shuffled)
        assert (result.added, result.merged) == (4, 3)
        states.append(_state(kb))
    assert all(state == states[0] for state in states)


def test_test_split_items_are_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(LeakageError, match="test split"):
        kb.add([_rule("Leaky rule", source_splits=["train", "test"])])
    assert kb.items() == []


def test_remove_marks_items_and_drops_their_vectors(kb: KnowledgeBase) -> None:
    kb.add(BASE)
    assert kb.remove([BASE[1].id[:8]]) == [BASE[1].id]  # unique prefix accepted
    assert kb.get(BASE[1].id).status == "removed"
    assert BASE[1].id not in kb.index.ids()
    assert BASE[1].id not in [i.id for i, _ in kb.search("laptop sleeve mouse", k=3)]
    assert kb.remove([BASE[1].id]) == []  # already removed
    with pytest.raises(KnowledgeBaseError, match="not in the knowledge base"):
        kb.remove(["ffffffffffff"])
    assert kb.add([BASE[1]]).unchanged == 1  # a removal sticks across re-distillation


def test_supersede_keeps_the_old_item(kb: KnowledgeBase) -> None:
    kb.add(BASE)
    better = _rule("Phone cases are bundled with screen protectors", teacher="big-teacher")
    old = kb.supersede(BASE[0].id, better)
    assert (old.status, old.superseded_by) == ("superseded", better.id)
    assert kb.get(better.id).status == "active"
    assert BASE[0].id not in kb.index.ids()
    assert better.id in kb.index.ids()
    assert kb.history()[-1]["op"] == "supersede"
    with pytest.raises(KnowledgeBaseError, match="only active items"):
        kb.supersede(BASE[0].id, _rule("another"))


def test_index_is_rebuilt_when_the_embedder_changes(tmp_path: Path) -> None:
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=HashingEmbedder(256), index="numpy")
    kb.add(BASE)
    other = CountingEmbedder(128)
    reopened = KnowledgeBase.open(tmp_path / "kb", embedder=other)
    assert other.embedded == len(BASE)
    assert reopened.index.embedder_id == "hashing-128"
    assert reopened.index.dim == 128
    assert (
        json.loads((tmp_path / "kb" / "manifest.json").read_text())["embedder_id"] == "hashing-128"
    )
    # Re-opening with the recorded embedder (no argument) embeds nothing.
    again = KnowledgeBase.open(tmp_path / "kb")
    assert again.embedder.model_id == "hashing-128"
    assert sorted(again.index.ids()) == sorted(i.id for i in BASE)


def test_missing_or_corrupt_index_is_rebuilt(tmp_path: Path) -> None:
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=HashingEmbedder(), index="numpy")
    kb.add(BASE)
    index_dir = tmp_path / "kb" / "index" / "numpy"
    (index_dir / "vectors.npy").write_bytes(b"not numpy")
    counter = CountingEmbedder()
    assert len(KnowledgeBase.open(tmp_path / "kb", embedder=counter).index) == 3
    assert counter.embedded == 3
    for path in index_dir.iterdir():
        path.unlink()
    assert KnowledgeBase.open(tmp_path / "kb").rebuild_index() == 3
    assert KnowledgeBase.open(tmp_path / "kb").index.ids() != []


def test_rollback_resyncs_the_index(kb: KnowledgeBase) -> None:
    kb.add(BASE)
    kb.remove([BASE[0].id])
    assert kb.rollback() == 2
    assert sorted(kb.index.ids()) == sorted(i.id for i in BASE)
    assert kb.rollback(to=1) == 1
    assert kb.index.ids() == []


def test_stats_and_diff(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.add(BASE)
    other = KnowledgeBase.create(tmp_path / "other", embedder=HashingEmbedder(), index="numpy")
    other.add([BASE[0], BASE[1].replace(stats={"support": 0.1}), _rule(NEAR_DUP.text, "food")])
    stats = kb.stats()
    assert stats["by_kind"] == {"rule": 3}
    assert stats["by_domain"] == {"electronic": 2, "food": 1}
    assert (stats["indexed"], stats["index_backend"], stats["operations"]) == (3, "numpy", 1)
    diff = kb.diff(other)
    assert diff.removed == [BASE[2].id]
    assert diff.changed == [BASE[1].id]
    assert len(diff.added) == 1
    assert kb.diff(tmp_path / "other" / "knowledge.jsonl") == diff
    assert kb.diff(tmp_path / "other") == diff


def test_opening_a_missing_kb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="not a knowledge base"):
        KnowledgeBase.open(tmp_path / "nothing")


def test_patterns_are_never_merged_and_test_items_need_force(tmp_path) -> None:
    from bundlekd.errors import LeakageError
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.store.items import KnowledgeItem

    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    template = "{} + {} are often bundled (support 0.010, confidence 0.50)"
    patterns = [
        KnowledgeItem.new(
            "pattern", template.format("Cases", x), "electronic", source_splits=["train"]
        )
        for x in ("Screen Protectors", "Chargers", "Styluses")
    ]
    result = kb.add(patterns, merge_threshold=0.5)  # a loose threshold would merge them all
    assert (result.added, result.merged) == (3, 0)
    leaked = KnowledgeItem.new(
        "rule", "Pair cameras with memory cards.", "electronic", source_splits=["test"]
    )
    with pytest.raises(LeakageError, match="from the test split"):
        kb.add([leaked])
    assert kb.add([leaked], force=True).added == 1
