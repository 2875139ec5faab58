"""VectorIndex: the interface every vector backend implements, and NumpyIndex (brute force).

An index is a rebuildable cache keyed by KnowledgeItem id (P10): it records which embedder made
its vectors, and a KB rebuilds it from knowledge.jsonl when that id changes or the files are
missing or corrupt. Vectors are unit-norm, so inner product = cosine similarity = score.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.files import atomic_path, read_json, write_json
from bundlekd.vectors import cosine_scores, top_k_indices

logger = logging.getLogger(__name__)

SearchHits = list[list[tuple[str, float]]]
META_FILE = "meta.json"


class VectorIndex(ABC):
    """id -> unit vector store with top-k inner-product search."""

    backend: ClassVar[str] = "abstract"

    def __init__(self) -> None:
        self.embedder_id: str | None = None
        self.dim: int | None = None

    @abstractmethod
    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert or overwrite vectors; `metadata` (kind/domain/status) is kept where supported."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Remove ids; unknown ids are ignored."""

    @abstractmethod
    def search(
        self, vectors: np.ndarray, k: int, filter_ids: Sequence[str] | None = None
    ) -> SearchHits:
        """For each query row, up to k (id, score) pairs, best first, restricted to filter_ids."""

    @abstractmethod
    def ids(self) -> list[str]:
        """All ids in the index."""

    @abstractmethod
    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors of `ids`, in that order; KnowledgeBaseError if one is missing."""

    @abstractmethod
    def reset(self, embedder_id: str, dim: int) -> None:
        """Drop every vector and start over for this embedder."""

    @abstractmethod
    def save(self) -> None:
        """Persist to disk (a no-op for backends that persist on write)."""

    @abstractmethod
    def load(self) -> bool:
        """Read from disk: False when nothing is there; KnowledgeBaseError when corrupt."""

    def refresh(self) -> None:
        """Pick up changes another process saved (cheap when nothing changed)."""
        self.load()

    def __len__(self) -> int:
        return len(self.ids())

    def _check(self, ids: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise KnowledgeBaseError(
                f"{self.backend}: expected {len(ids)} vectors, got shape {vectors.shape}"
            )
        # An empty index adopts the first vectors' width (a model's dim may be known only then).
        if self.dim is not None and vectors.shape[1] != self.dim and len(self) > 0:
            raise KnowledgeBaseError(
                f"{self.backend}: vectors have dim {vectors.shape[1]}, the index holds {self.dim} "
                f"(embedder {self.embedder_id}); rebuild the index"
            )
        self.dim = int(vectors.shape[1])
        return np.ascontiguousarray(vectors)


class FileIndex(VectorIndex):
    """Indexes stored as files in one directory, with a meta.json written last (P9)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._revision: str | None = None

    @property
    def meta_path(self) -> Path:
        return self.path / META_FILE

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._save_payload()
        self._revision = uuid.uuid4().hex
        write_json(
            self.meta_path,
            {
                "backend": self.backend,
                "embedder_id": self.embedder_id,
                "dim": self.dim,
                "count": len(self),
                "revision": self._revision,
            },
        )

    def load(self) -> bool:
        if not self.meta_path.exists():
            self._clear()
            self.embedder_id, self.dim, self._revision = None, None, None
            return False
        try:
            meta = read_json(self.meta_path)
            self._load_payload()
        except (DataError, OSError, ValueError, RuntimeError) as exc:
            raise KnowledgeBaseError(
                f"{self.path}: unreadable {self.backend} index: {exc}"
            ) from exc
        if len(self) != meta.get("count"):
            raise KnowledgeBaseError(
                f"{self.path}: index holds {len(self)} vectors, meta.json says {meta.get('count')}"
            )
        self.embedder_id, self.dim = meta.get("embedder_id"), meta.get("dim")
        self._revision = meta.get("revision")
        return True

    def refresh(self) -> None:
        try:
            revision = read_json(self.meta_path).get("revision")
        except DataError:
            revision = None
        if revision != self._revision:
            self.load()

    def reset(self, embedder_id: str, dim: int) -> None:
        self._clear()
        self.embedder_id, self.dim = embedder_id, dim

    @abstractmethod
    def _save_payload(self) -> None: ...

    @abstractmethod
    def _load_payload(self) -> None: ...

    @abstractmethod
    def _clear(self) -> None: ...


class NumpyIndex(FileIndex):
    """Exact brute-force search over an in-memory matrix: fine for a few thousand items."""

    backend = "numpy"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)

    def _clear(self) -> None:
        self._ids, self._pos = [], {}
        self._vectors = np.zeros((0, self.dim or 0), dtype=np.float32)

    def upsert(self, ids, vectors, metadata=None) -> None:  # type: ignore[no-untyped-def]
        vectors = self._check(ids, vectors)
        if self._vectors.shape[0] == 0:
            self._vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
        new_rows = []
        for item_id, vector in zip(ids, vectors, strict=True):
            if item_id in self._pos:
                self._vectors[self._pos[item_id]] = vector
            else:
                self._pos[item_id] = len(self._ids)
                self._ids.append(item_id)
                new_rows.append(vector)
        if new_rows:
            self._vectors = np.vstack([self._vectors, np.stack(new_rows)])

    def delete(self, ids: Sequence[str]) -> None:
        drop = {i for i in ids if i in self._pos}
        if not drop:
            return
        keep = [j for j, item_id in enumerate(self._ids) if item_id not in drop]
        self._ids = [self._ids[j] for j in keep]
        self._vectors = self._vectors[keep]
        self._pos = {item_id: j for j, item_id in enumerate(self._ids)}

    def search(self, vectors, k, filter_ids=None) -> SearchHits:  # type: ignore[no-untyped-def]
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not self._ids:
            return [[] for _ in queries]
        scores = cosine_scores(queries, self._vectors)
        if filter_ids is not None:
            mask = np.full(len(self._ids), -np.inf, dtype=np.float32)
            mask[[self._pos[i] for i in filter_ids if i in self._pos]] = 0.0
            scores = scores + mask
        id_rank = np.empty(len(self._ids), dtype=np.intp)  # equal scores: by id
        id_rank[np.argsort(np.asarray(self._ids))] = np.arange(len(self._ids))
        return [
            [(self._ids[j], float(row[j])) for j in top_k_indices(row, k, tie_rank=id_rank)]
            for row in scores
        ]

    def ids(self) -> list[str]:
        return list(self._ids)

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        missing = [i for i in ids if i not in self._pos]
        if missing:
            raise KnowledgeBaseError(f"numpy index: ids not indexed: {missing[:5]}")
        return self._vectors[[self._pos[i] for i in ids]]

    def _save_payload(self) -> None:
        with atomic_path(self.path / "vectors.npy") as tmp, tmp.open("wb") as handle:
            np.save(handle, self._vectors, allow_pickle=False)  # a path would gain ".npy"
        write_json(self.path / "ids.json", self._ids)

    def _load_payload(self) -> None:
        vectors = np.load(self.path / "vectors.npy", allow_pickle=False)
        ids = read_json(self.path / "ids.json")
        if len(ids) != vectors.shape[0]:
            raise ValueError(f"{len(ids)} ids but {vectors.shape[0]} vectors")
        self._ids, self._vectors = list(ids), vectors.astype(np.float32, copy=False)
        self._pos = {item_id: j for j, item_id in enumerate(self._ids)}
