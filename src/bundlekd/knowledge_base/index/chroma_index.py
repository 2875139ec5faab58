"""ChromaIndex: chromadb as a KB vector backend, embedded (PersistentClient) or server (HttpClient).

Server mode: `chroma run --path DIR --port 8000`, then `ChromaIndex(url="http://localhost:8000")`.
We always pass our own vectors (`embedding_function=None`): chroma's default embedding
function downloads a model and fails offline (RUNTIME.md §5). The collection records the
embedder id in its metadata; vectors carry kind/domain/status metadata for `where` filters.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from bundlekd.errors import KnowledgeBaseError
from bundlekd.knowledge_base.index.base import SearchHits, VectorIndex

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
_PAGE = 5000  # chroma's max batch is ~5461 records per call


def _chromadb() -> Any:
    try:
        import chromadb
    except ImportError as exc:
        raise KnowledgeBaseError(
            "chromadb is not installed: pip install 'bundlekd[chroma]' (or use --index faiss)"
        ) from exc
    return chromadb


class ChromaIndex(VectorIndex):
    """A chroma collection holding one KB's vectors (inner-product space)."""

    backend = "chroma"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        collection_name: str = "bundlekd-knowledge",
        hnsw: dict[str, Any] | None = None,
    ) -> None:
        """`hnsw`: extra HNSW settings for new collections, e.g. {"ef_search": 200}."""
        super().__init__()
        if (path is None) == (url is None):
            raise KnowledgeBaseError("ChromaIndex needs exactly one of path (embedded) or url")
        if not _NAME.match(collection_name):
            raise KnowledgeBaseError(
                f"chroma collection name {collection_name!r}: 3-512 characters of [A-Za-z0-9._-], "
                "starting and ending with a letter or digit"
            )
        self.path = Path(path) if path is not None else None
        self.url = url
        self.collection_name = collection_name
        self.hnsw = {**(hnsw or {}), "space": "ip"}  # scores are inner products of unit vectors
        self._client: Any = None
        self._collection: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            chromadb = _chromadb()
            from chromadb.config import Settings

            settings = Settings(anonymized_telemetry=False)  # no network calls from here
            try:
                if self.path is not None:
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
                else:
                    parts = urlsplit(self.url if "//" in str(self.url) else f"http://{self.url}")
                    self._client = chromadb.HttpClient(
                        host=parts.hostname or "localhost",
                        port=parts.port or 8000,
                        ssl=parts.scheme == "https",
                        settings=settings,
                    )
            except Exception as exc:  # chroma raises ValueError/ConnectError/... by transport
                where = self.path or self.url
                raise KnowledgeBaseError(f"chroma at {where}: cannot open client: {exc}") from exc
        return self._client

    def _require(self) -> Any:
        if self._collection is None:
            if self.embedder_id is None or self.dim is None:
                raise KnowledgeBaseError("chroma index: call load() or reset() before use")
            self._create()
        return self._collection

    def _create(self) -> None:
        self._collection = self._get_client().create_collection(
            self.collection_name,
            embedding_function=None,
            configuration={"hnsw": self.hnsw},
            metadata={"embedder_id": str(self.embedder_id), "dim": int(self.dim or 0)},
        )

    def load(self) -> bool:
        from chromadb.errors import NotFoundError

        try:
            self._collection = self._get_client().get_collection(self.collection_name)
        except NotFoundError:
            self._collection, self.embedder_id, self.dim = None, None, None
            return False
        meta = self._collection.metadata or {}
        self.embedder_id = meta.get("embedder_id")
        self.dim = meta.get("dim") or None
        return True

    def refresh(self) -> None:
        # The server is shared state; only the handle can go stale (collection re-created).
        self.load()

    def reset(self, embedder_id: str, dim: int) -> None:
        from chromadb.errors import NotFoundError

        with contextlib.suppress(NotFoundError):
            self._get_client().delete_collection(self.collection_name)
        self.embedder_id, self.dim = embedder_id, dim
        self._create()

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        vectors = self._check(ids, vectors)
        collection = self._require()
        # chroma metadata values must be str/int/float/bool: drop None, stringify the rest.
        metas = [
            {
                k: v if isinstance(v, int | float | bool) else str(v)
                for k, v in m.items()
                if v is not None
            }
            or None
            for m in (metadata or [{}] * len(ids))
        ]
        for start in range(0, len(ids), _PAGE):
            stop = start + _PAGE
            batch_metas = metas[start:stop]
            collection.upsert(
                ids=list(ids[start:stop]),
                embeddings=vectors[start:stop],
                metadatas=batch_metas if all(batch_metas) else None,
            )

    def delete(self, ids: Sequence[str]) -> None:
        if self._collection is None or not ids:
            return
        ids = list(ids)
        for start in range(0, len(ids), _PAGE):
            self._collection.delete(ids=ids[start : start + _PAGE])

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        filter_ids: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
    ) -> SearchHits:
        """As VectorIndex.search; `where` is a chroma metadata filter, e.g. {"kind": "rule"}."""
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        count = self._collection.count() if self._collection is not None else 0
        if filter_ids is not None and count:
            # chroma fails the whole query ("Error finding id") on an unknown id: keep known ones.
            filter_ids = self._known(filter_ids)
        limit = count if filter_ids is None else min(count, len(filter_ids))
        k = min(k, limit)
        if k <= 0:
            return [[] for _ in queries]
        result = self._collection.query(
            query_embeddings=queries,
            n_results=k,
            ids=list(filter_ids) if filter_ids is not None else None,
            where=where,
            include=["distances"],
        )
        # In "ip" space chroma's distance is 1 - <q, v>.
        return [
            [(i, 1.0 - float(d)) for i, d in zip(row_ids, row_d, strict=True)]
            for row_ids, row_d in zip(result["ids"], result["distances"], strict=True)
        ]

    def _known(self, ids: Sequence[str]) -> list[str]:
        known: list[str] = []
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), _PAGE):
            known += self._collection.get(ids=ids[start : start + _PAGE], include=[])["ids"]
        return known

    def ids(self) -> list[str]:
        if self._collection is None:
            return []
        out: list[str] = []
        while True:
            page = self._collection.get(include=[], limit=_PAGE, offset=len(out))["ids"]
            out.extend(page)
            if len(page) < _PAGE:
                return out

    def __len__(self) -> int:
        return self._collection.count() if self._collection is not None else 0

    def get_vectors(self, ids: Sequence[str]) -> np.ndarray:
        if not ids:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        got = self._require().get(ids=list(ids), include=["embeddings"])
        # chroma returns records in storage order, not in the order asked for.
        by_id = dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise KnowledgeBaseError(f"chroma index: ids not indexed: {missing[:5]}")
        return np.stack([by_id[i] for i in ids])

    def save(self) -> None:
        """Nothing to do: chroma persists every write."""
