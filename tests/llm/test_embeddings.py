"""get_embedder: the one resolver of instances, names, recorded model ids and folders."""

from __future__ import annotations

import numpy as np
import pytest

from bundlekd.errors import ConfigError
from bundlekd.llm.embeddings import (
    HashingEmbedder,
    SentenceTransformerEmbedder,
    get_embedder,
)


def test_names_and_recorded_ids_resolve_without_loading_a_model() -> None:
    instance = HashingEmbedder(32)
    assert get_embedder(instance) is instance
    for spec in (None, "minilm", "all-MiniLM-L6-v2"):
        default = get_embedder(spec)
        assert isinstance(default, SentenceTransformerEmbedder)
        assert default.model_id == "all-MiniLM-L6-v2"  # what a KB records, so it reopens
    assert get_embedder("hashing").model_id == "hashing-256"
    assert get_embedder("hashing-64").model_id == "hashing-64"
    assert get_embedder(get_embedder("hashing-64").model_id).dim == 64
    folder = get_embedder("/models/my-minilm")
    assert isinstance(folder, SentenceTransformerEmbedder)
    assert folder.model_id == "/models/my-minilm"


def test_bad_hashing_width_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="hashing-DIM"):
        get_embedder("hashing-wide")
    with pytest.raises(ConfigError, match="hashing-DIM"):
        get_embedder("hashing-0")


def test_hashing_vectors_are_unit_norm() -> None:
    vectors = get_embedder("hashing-16").embed_batch(["phone case", "", "case phone"])
    assert vectors.shape == (3, 16)
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0)
    assert np.allclose(vectors[0], vectors[2])  # bag of words: order does not matter
    assert not vectors[1].any()
