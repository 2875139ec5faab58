"""An embedder in front of a table of texts whose vectors are already known.

The grouping tool's scorer memories embed every training title, most of which the item
memory holds already (same embedder, same titles, cached beside the KB). `KnownVectors`
answers those from the table and embeds only the texts it has never seen, once each, so a
tool loads without the model when its titles are cached.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bundlekd.llm.embeddings import Embedder


class KnownVectors(Embedder):
    """`inner` behind a text -> vector table; `learned` lists the texts it had to embed."""

    def __init__(self, inner: Embedder, texts: Sequence[str], vectors: np.ndarray) -> None:
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]  # instance value shadows the ClassVar
        self._rows: dict[str, int] = {}
        for row, text in enumerate(texts):
            self._rows.setdefault(text, row)
        self._table = np.asarray(vectors, dtype=np.float32)
        self._used = len(self._table)  # rows in use (the table may have spare rows)
        self.learned: list[str] = []

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def __contains__(self, text: object) -> bool:
        return text in self._rows

    def vector_of(self, text: str) -> np.ndarray:
        """The known vector of `text` (KeyError when it was never embedded)."""
        return self._table[self._rows[text]]

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = self._rows
        missing = [t for t in dict.fromkeys(texts) if t not in rows]
        if missing:
            self._add(missing, np.asarray(self.inner.embed_batch(missing), dtype=np.float32))
        return self._table[[rows[t] for t in texts]]

    def _add(self, texts: list[str], vectors: np.ndarray) -> None:
        """Append rows (the table grows by doubling: a few calls do not copy it each time)."""
        start, needed = self._used, self._used + len(texts)
        if needed > len(self._table):
            grown = np.zeros((max(needed, 2 * len(self._table)), vectors.shape[1]), np.float32)
            grown[:start] = self._table[:start].reshape(start, vectors.shape[1])
            self._table = grown
        self._table[start:needed] = vectors
        self._used = needed
        self._rows.update((text, start + k) for k, text in enumerate(texts))
        self.learned += texts
