"""Loading a KB's grouping tool embeds no title whose vector the KB already keeps (issue 23).

The learned scorer's memories take their title vectors from the item memory (its cache under
`index/` holds every exemplar title and the other titles of their sessions), so a tool load
with a plain, uncached embedder does not run the model on known titles.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bundlekd.app.tool_fitting import fit_tool
from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.distill.runner import distill
from bundlekd.knowledge_base.grouping.memory import DomainMemory, memory_sessions
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.retrieval.item_memory import cache_file
from bundlekd.llm.embeddings import HashingEmbedder
from bundlekd.llm.known_vectors import KnownVectors
from fixtures.counting import Counting

MEMORY_ARRAYS = ("vectors", "pair_a", "pair_b", "pair_y", "in_bundle", "category_codes")


@pytest.fixture(autouse=True)
def _no_memories_built_before() -> None:
    """Each test builds its memories (the process keeps built ones by content)."""
    from bundlekd.knowledge_base import kb

    kb._MEMORIES.clear()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset = load_sample()
    kb = KnowledgeBase.create(tmp_path_factory.mktemp("kb") / "kb", embedder="hashing")
    distill(dataset.split("train"), kinds=["exemplar"], kb_dir=kb.kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder, scorer="learned")
    return kb.kb_dir


def _copy(fitted: Path, tmp_path: Path) -> KnowledgeBase:
    import shutil

    shutil.copytree(fitted, tmp_path / "kb")
    return KnowledgeBase.open(tmp_path / "kb", read_only=True)


def _titles(kb: KnowledgeBase) -> tuple[set[str], set[str]]:
    """(exemplar titles, other session titles that are no exemplar's title)."""
    exemplars = [i for i in kb.store.load().values() if i.kind == "exemplar"]
    titles = {t for i in exemplars for t in i.stats["titles"]}
    return titles, {t for i in exemplars for t in i.stats["others"]} - titles


def test_a_fitted_tool_loads_without_embedding_a_title(fitted: Path, tmp_path: Path) -> None:
    kb = _copy(fitted, tmp_path)
    titles, others = _titles(kb)
    assert titles  # the sample has both
    assert others
    counting = Counting(HashingEmbedder(kb.embedder.dim))
    tool = kb.grouping_tool(counting)
    assert counting.texts == []
    # The memories are those the embedder itself gives, array for array.
    plain = HashingEmbedder(kb.embedder.dim)
    for domain, sessions in memory_sessions(kb.store.load().values()).items():
        expected = DomainMemory(sessions, plain)
        for name in MEMORY_ARRAYS:
            mine = getattr(tool.scorer.memories[domain], name)  # type: ignore[attr-defined]
            assert mine.tobytes() == getattr(expected, name).tobytes(), name
    test = load_sample().split("test")
    assert tool.propose(test) == kb.grouping_tool(plain).propose(test)


def test_a_cache_without_other_titles_embeds_only_those(fitted: Path, tmp_path: Path) -> None:
    """A cache written before the other titles were kept: each is embedded once, no exemplar
    title again, and a read does not rewrite the file."""
    kb = _copy(fitted, tmp_path)
    path = next((kb.kb_dir / "index").glob("item_memory-*.npz"))
    with np.load(path, allow_pickle=False) as data:
        old = {k: data[k] for k in ("vectors", "ids", "positions", "meta")}
    np.savez(path.with_suffix(""), **old)  # np.savez appends .npz
    before = path.read_bytes()
    _, others = _titles(kb)
    counting = Counting(HashingEmbedder(kb.embedder.dim))
    kb.grouping_tool(counting)
    assert sorted(counting.texts) == sorted(others)
    assert path.read_bytes() == before


def test_the_fit_keeps_the_other_titles_in_the_cache(fitted: Path) -> None:
    kb = KnowledgeBase.open(fitted, read_only=True)
    _, others = _titles(kb)
    with np.load(cache_file(kb.kb_dir / "index", kb.embedder.model_id)) as data:
        assert sorted(json.loads(data["other_titles"].tobytes())) == sorted(others)
        vectors = data["other_vectors"]
    expected = kb.embedder.embed_batch(sorted(others))
    assert vectors.tobytes() == expected.tobytes()


def test_known_vectors_embed_each_new_text_once() -> None:
    inner = Counting(HashingEmbedder(16))
    base = HashingEmbedder(16).embed_batch(["red cup", "blue cup"])
    table = KnownVectors(inner, ["red cup", "blue cup"], base)
    found = table.embed_batch(["blue cup", "green tea", "green tea", "red cup"])
    assert inner.texts == ["green tea"]
    assert (
        found.tobytes()
        == HashingEmbedder(16)
        .embed_batch(["blue cup", "green tea", "green tea", "red cup"])
        .tobytes()
    )
    table.embed_batch(["green tea"])
    assert inner.texts == ["green tea"]
    assert table.learned == ["green tea"]
    assert table.embed_batch([]).shape == (0, 16)
    assert table.model_id == inner.model_id
    with pytest.raises(ValueError, match="texts"):
        KnownVectors(inner, ["one"], base)
