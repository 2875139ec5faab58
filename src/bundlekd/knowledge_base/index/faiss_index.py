"""FaissIndex: exact inner-product search with faiss-cpu (the default KB index backend).

`IndexIDMap2(IndexFlatIP)` stores vectors under int64 ids derived from our string ids by
hashing; a JSON sidecar keeps the string ids, since faiss only knows integers. Files under
`kb_dir/index/faiss`: `index.faiss`, `ids.json`, `meta.json` (written last).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bundlekd.errors import KnowledgeBaseError
from bundlekd.files import atomic_path, read_json, write_json
from bundlekd.knowledge_base.index.base import FileIndex, SearchHits


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise KnowledgeBaseError(
            "faiss-cpu is not installed: pip install 'bundlekd[faiss]' (or use --index numpy)"
        ) from exc
    return faiss


def int_id(item_id: str) -> int:
    """A stable non-negative int64 for a string id (faiss labels are int64; -1 means 'none')."""
    digest = hashlib.blake2b(item_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


class FaissIndex(FileIndex):
    """Exact (flat) faiss index with string ids; see the module docstring for the files."""

    backend = "faiss"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._index: Any = None
        self._by_int: dict[int, str] = {}

    def _ensure(self, dim: int) -> Any:
        if self._index is None:
            faiss = _faiss()
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        return self._index

    def _clear(self) -> None:
        self._index, self._by_int = None, {}

    def upsert(self, ids, vectors, metadata=None) -> None:  # type: ignore[no-untyped-def]
        vectors = self._check(ids, vectors)
        if not ids:
            return
        labels = []
        for item_id in ids:
            label = int_id(item_id)
            if self._by_int.get(label, item_id) != item_id:
                raise KnowledgeBaseError(f"faiss index: id hash collision: {item_id!r}")
            labels.append(label)
        index = self._ensure(vectors.shape[1])
        self._remove_labels([label for label in labels if label in self._by_int])
        index.add_with_ids(vectors, np.asarray(labels, dtype=np.int64))
        self._by_int.update(zip(labels, ids, strict=True))

    def _remove_labels(self, labels: list[int]) -> None:
        if labels and self._index is not None:
            self._index.remove_ids(_faiss().IDSelectorBatch(np.asarray(labels, dtype=np.int64)))
            for label in labels:
                self._by_int.pop(label, None)

    def delete(self, ids: Sequence[str]) -> None:
        self._remove_labels([int_id(i) for i in ids if int_id(i) in self._by_int])

    def search(self, vectors, k, filter_ids=None) -> SearchHits:  # type: ignore[no-untyped-def]
        queries = np.ascontiguousarray(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
        if self._index is None or self._index.ntotal == 0:
            return [[] for _ in queries]
        params = None
        limit = self._index.ntotal
        if filter_ids is not None:
            labels = sorted({int_id(i) for i in filter_ids} & self._by_int.keys())
            if not labels:
                return [[] for _ in queries]
            faiss = _faiss()
            selector = faiss.IDSelectorBatch(np.asarray(labels, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)
            limit = len(labels)
        k = min(k, limit)
        if k <= 0:
            return [[] for _ in queries]
        scores, found = self._index.search(queries, k, params=params)
        return [
            [(self._by_int[int(j)], float(s)) for s, j in zip(srow, jrow, strict=True) if j >= 0]
            for srow, jrow in zip(scores, found, strict=True)
        ]

    def ids(self) -> list[str]:
        return list(self._by_int.values())

    def __len__(self) -> int:
        return len(self._by_int)

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        missing = [i for i in ids if int_id(i) not in self._by_int]
        if missing:
            raise KnowledgeBaseError(f"faiss index: ids not indexed: {missing[:5]}")
        if not ids:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        labels = np.asarray([int_id(i) for i in ids], dtype=np.int64)
        return np.asarray(self._index.reconstruct_batch(labels), dtype=np.float32)

    def _save_payload(self) -> None:
        faiss = _faiss()
        index = self._index if self._index is not None else self._ensure(self.dim or 1)
        with atomic_path(self.path / "index.faiss") as tmp:
            faiss.write_index(index, str(tmp))
        write_json(self.path / "ids.json", list(self._by_int.values()))

    def _load_payload(self) -> None:
        faiss = _faiss()
        index = faiss.read_index(str(self.path / "index.faiss"))
        ids = read_json(self.path / "ids.json")
        by_int = {int_id(i): i for i in ids}
        labels = set(faiss.vector_to_array(index.id_map).tolist())
        if labels != by_int.keys():
            raise ValueError("ids.json does not match the ids stored in index.faiss")
        self._index, self._by_int = index, by_int
