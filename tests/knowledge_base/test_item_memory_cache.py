"""A damaged item-memory cache (`index/item_memory-*.npz`) is rebuilt, never a traceback and
never used as it is (issue 16 item 4). The shipped sample's exemplars, the hashing embedder."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.distill.exemplars import exemplar_items
from bundlekd.knowledge_base.retrieval.item_memory import ItemMemory, cache_file
from bundlekd.llm.embeddings import HashingEmbedder

EMBEDDER = HashingEmbedder(64)
QUERIES = [i.title for s in load_sample().split("test") for i in s.items]


def _rewrite(path: Path, **changes: np.ndarray) -> None:
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays.update(changes)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _vectors(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as data:
        return np.array(data["vectors"])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "not a zip": lambda p: p.write_bytes(b"not an npz file"),
    "wrong dimension": lambda p: _rewrite(p, vectors=_vectors(p)[:, :32]),
    "all NaN": lambda p: _rewrite(p, vectors=np.full_like(_vectors(p), np.nan)),
    "zeroed": lambda p: _rewrite(p, vectors=np.zeros_like(_vectors(p))),
    "one row short": lambda p: _rewrite(p, vectors=_vectors(p)[:-1]),
    "other titles not JSON": lambda p: _rewrite(
        p, other_titles=np.frombuffer(b"[not json", dtype=np.uint8)
    ),
    "other titles without vectors": lambda p: _rewrite(
        p, other_titles=np.frombuffer(b'["a title"]', dtype=np.uint8)
    ),
    "other title NaN": lambda p: _rewrite(
        p,
        other_titles=np.frombuffer(b'["a title"]', dtype=np.uint8),
        other_vectors=np.full((1, EMBEDDER.dim), np.nan, dtype=np.float32),
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_cache_is_rebuilt_and_gives_the_fresh_neighbours(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    items = exemplar_items(load_sample().split("train"))
    fresh = ItemMemory.build(items, EMBEDDER).nearest(QUERIES, 5)
    ItemMemory.build(items, EMBEDDER, tmp_path, write_cache=True)
    path = cache_file(tmp_path, EMBEDDER.model_id)
    DAMAGE[case](path)
    with caplog.at_level(logging.WARNING):
        memory = ItemMemory.build(items, EMBEDDER, tmp_path, write_cache=True)
    assert memory.nearest(QUERIES, 5) == fresh
    assert str(path) in caplog.text
    # The file was rebuilt: the next build embeds nothing and warns about nothing.
    caplog.clear()
    vectors = _vectors(path)
    assert vectors.shape[1] == EMBEDDER.dim
    assert np.isfinite(vectors).all()
    assert np.linalg.norm(vectors, axis=1).min() > 0.5
    with caplog.at_level(logging.WARNING):
        again = ItemMemory.build(items, EMBEDDER, tmp_path)
    assert caplog.text == ""
    assert again.nearest(QUERIES, 5) == fresh


def test_damaged_other_titles_cost_only_those(tmp_path: Path) -> None:
    """The title rows of a file whose other titles are damaged are still used as they are."""
    items = exemplar_items(load_sample().split("train"))
    ItemMemory.build(items, EMBEDDER, tmp_path, write_cache=True)
    path = cache_file(tmp_path, EMBEDDER.model_id)
    _rewrite(path, other_titles=np.frombuffer(b"[not json", dtype=np.uint8))
    asked: list[str] = []

    class Counting(HashingEmbedder):
        def embed_batch(self, texts):  # type: ignore[no-untyped-def]
            asked.extend(texts)
            return super().embed_batch(texts)

    memory = ItemMemory.build(items, Counting(EMBEDDER.dim), tmp_path)
    assert asked == []
    assert memory.nearest(QUERIES, 5) == ItemMemory.build(items, EMBEDDER).nearest(QUERIES, 5)


def test_one_bad_row_is_embedded_again_alone(tmp_path: Path) -> None:
    items = exemplar_items(load_sample().split("train"))
    ItemMemory.build(items, EMBEDDER, tmp_path, write_cache=True)
    path = cache_file(tmp_path, EMBEDDER.model_id)
    vectors = _vectors(path)
    vectors[3] = np.nan
    _rewrite(path, vectors=vectors)
    asked: list[str] = []

    class Counting(HashingEmbedder):
        def embed_batch(self, texts):  # type: ignore[no-untyped-def]
            asked.extend(texts)
            return super().embed_batch(texts)

    memory = ItemMemory.build(items, Counting(EMBEDDER.dim), tmp_path, write_cache=True)
    assert len(asked) == 1
    assert memory.nearest(QUERIES, 5) == ItemMemory.build(items, EMBEDDER).nearest(QUERIES, 5)
    assert np.isfinite(_vectors(path)).all()  # rewritten
