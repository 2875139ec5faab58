"""Exemplar texts are embedded on first search, not when they are written (issue 23 item 2).

Only `kb search` and in-context examples read exemplar vectors, so a distill leaves them out
of the index; the first search embeds the ones it may return, in memory (a read writes no
file), and finds what an index built eagerly (`kb rebuild`) finds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.distill.exemplars import exemplar_items
from bundlekd.knowledge_base.kb import KnowledgeBase, MemoryIndex
from bundlekd.knowledge_base.store.items import KnowledgeItem
from fixtures.counting import Counting

RULE = KnowledgeItem.new(
    "rule", "phone case with screen protector", "electronic", source_splits=["train"]
)
QUERIES = ["\n".join(i.title for i in s.items) for s in load_sample().split("test")]


def _files(kb_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(kb_dir)): p.read_bytes()
        for p in sorted((kb_dir / "index").rglob("*"))
        if p.is_file()
    }


def _search(kb: KnowledgeBase) -> list[list[tuple[str, float]]]:
    return [[(i.id, round(s, 6)) for i, s in kb.search(q, k=5)] for q in QUERIES]


@pytest.fixture(params=["numpy", "faiss"])
def written(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Counting]:
    if request.param == "faiss":
        pytest.importorskip("faiss")
    counting = Counting()
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=counting, index=request.param)
    result = kb.add([*exemplar_items(load_sample().split("train")), RULE])
    assert result.embedded == 1  # the rule: the exemplars wait for a search
    assert counting.texts == [RULE.text]
    return kb.kb_dir, counting


def test_the_first_search_embeds_the_exemplars_and_finds_what_an_eager_index_finds(
    written: tuple[Path, Counting], tmp_path: Path
) -> None:
    kb_dir, _ = written
    eager_dir = tmp_path / "eager"
    shutil.copytree(kb_dir, eager_dir)
    eager = KnowledgeBase.open(eager_dir)
    active = [i for i in eager.items() if i.status == "active"]
    assert eager.rebuild_index() == len(active)  # kb rebuild embeds everything
    assert len(eager.index) == len(active)
    before = _files(kb_dir)
    counting = Counting()
    kb = KnowledgeBase.open(kb_dir, embedder=counting, read_only=True)
    assert not isinstance(kb.index, MemoryIndex)  # the saved index serves the read
    assert len(kb.index) == 1
    assert _search(kb) == _search(eager)
    exemplars = [i for i in active if i.kind == "exemplar"]
    assert sorted(counting.texts[: len(exemplars)]) == sorted(i.text for i in exemplars)
    embedded = len(counting.texts)
    _search(kb)
    assert len(counting.texts) == embedded + len(QUERIES)  # the queries only: none again
    assert _files(kb_dir) == before  # a read writes nothing


def test_a_search_of_other_kinds_embeds_no_exemplar(written: tuple[Path, Counting]) -> None:
    kb_dir, _ = written
    counting = Counting()
    kb = KnowledgeBase.open(kb_dir, embedder=counting, read_only=True)
    assert [i.id for i, _ in kb.search("phone case", k=3, kinds=["rule"])] == [RULE.id]
    assert counting.texts == ["phone case"]


def test_writes_keep_the_index_free_of_inactive_items(written: tuple[Path, Counting]) -> None:
    kb_dir, _ = written
    kb = KnowledgeBase.open(kb_dir, embedder=Counting())
    exemplars = [i for i in kb.items() if i.kind == "exemplar"]
    kb.search(QUERIES[0], k=3)  # fills the index in memory
    kb.remove([exemplars[0].id])
    assert exemplars[0].id not in kb.index.ids()
    assert all(i.id != exemplars[0].id for q in QUERIES for i, _ in kb.search(q, k=20))
    reopened = KnowledgeBase.open(kb_dir, read_only=True, embedder=Counting())
    assert exemplars[0].id not in reopened.index.ids()
    assert not isinstance(reopened.index, MemoryIndex)
    assert all(i.id != exemplars[0].id for q in QUERIES for i, _ in reopened.search(q, k=20))


def test_a_missing_index_is_read_through_memory_with_the_exemplars_deferred(
    written: tuple[Path, Counting],
) -> None:
    kb_dir, _ = written
    shutil.rmtree(kb_dir / "index")
    counting = Counting()
    kb = KnowledgeBase.open(kb_dir, embedder=counting, read_only=True)
    assert isinstance(kb.index, MemoryIndex)
    assert counting.texts == [RULE.text]
    assert len(kb.search(QUERIES[0], k=3)) == 3
    assert not (kb_dir / "index").exists()
