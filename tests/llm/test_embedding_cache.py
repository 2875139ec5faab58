"""The embedding cache: a second start embeds nothing; new texts or another embedder miss."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bundlekd.agent.examples import ExampleIndex
from bundlekd.data.sources import load_sample
from bundlekd.llm.embedding_cache import CachingEmbedder
from bundlekd.llm.embeddings import HashingEmbedder


class CountingEmbedder(HashingEmbedder):
    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.embedded: list[str] = []

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return super().embed_batch(texts)


def test_the_example_pool_is_embedded_once_across_starts(tmp_path: Path) -> None:
    train = load_sample().split("train")
    cache = tmp_path / "vectors.sqlite"
    first = CountingEmbedder()
    index = ExampleIndex(train, CachingEmbedder(first, cache))
    assert len(first.embedded) == len(train)
    second = CountingEmbedder()  # a new process: a new model object, the same cache file
    again = ExampleIndex(train, CachingEmbedder(second, cache))
    assert second.embedded == []
    query = load_sample().split("test")[0]
    assert [s.key for s in index.nearest(query, 2)] == [s.key for s in again.nearest(query, 2)]


def test_changed_data_or_embedder_is_not_served_stale_vectors(tmp_path: Path) -> None:
    cache = tmp_path / "vectors.sqlite"
    base = CountingEmbedder(64)
    cached = CachingEmbedder(base, cache)
    vectors = cached.embed_batch(["usb stick", "wool socks", "usb stick"])
    assert base.embedded == ["usb stick", "wool socks"]  # a repeated text is embedded once
    assert np.allclose(vectors[0], vectors[2])
    cached.embed_batch(["usb stick", "new title"])
    assert base.embedded[-1:] == ["new title"]  # only the new text
    other = CountingEmbedder(32)  # another embedder id (hashing-32): nothing is reused
    result = CachingEmbedder(other, cache).embed_batch(["usb stick"])
    assert other.embedded == ["usb stick"]
    assert result.shape == (1, 32)
    assert np.allclose(result, HashingEmbedder(32).embed_batch(["usb stick"]))
